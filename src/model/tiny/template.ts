// The ChatML chat template of SmolLM2-Instruct, for tiny models: a default system message when the conversation
// has none, and an open assistant turn when the caller asks for a generation prompt.

export const DEFAULT_SYSTEM_MESSAGE = 'You are a helpful AI assistant named SmolLM, trained by Hugging Face';

/** Jinja for @huggingface/jinja (and Python's jinja2): the same text SmolLM2-Instruct ships. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  `{{ '<|im_start|>system\n${DEFAULT_SYSTEM_MESSAGE}<|im_end|>\n' }}{% endif %}` +
  "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
