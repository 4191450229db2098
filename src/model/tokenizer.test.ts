// The tokenizer loader against real files on disk (a tiny model written to a temp folder): round trips, special
// tokens, the ChatML template, stop ids, and typed errors for missing or broken files.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MissingFileError, ModelError } from './errors';
import { BytesSource, type ByteSource, type FileSet } from './source';
import { DirFileSet } from './source-node';
import { makeTinyModel } from './tiny/make';
import { DEFAULT_SYSTEM_MESSAGE } from './tiny/template';
import { writeTinyModel } from './tiny/write-node';
import { loadTokenizer, type Tokenizer } from './tokenizer';

class MapFileSet implements FileSet {
  constructor(
    readonly name: string,
    private readonly files: Map<string, Uint8Array>,
  ) {}
  async open(file: string): Promise<ByteSource | null> {
    const bytes = this.files.get(file);
    return bytes ? new BytesSource(`${this.name}/${file}`, bytes) : null;
  }
}

let dir: string;
let tok: Tokenizer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genpi-tok-'));
  await writeTinyModel(join(dir, 'llama'));
  tok = await loadTokenizer(new DirFileSet(join(dir, 'llama')));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadTokenizer on a tiny model folder', () => {
  it.each([
    'Hello, world!',
    'Café déjà vu, naïve façade, Ærøskøbing',
    'Emoji 🎉🦙 and 👩‍👩‍👧 family, 中文字符',
    'function f(x) {\n\treturn x * 2;\n}\n\n  indented  \t tabs\r\nend ',
    '',
    ' leading and trailing spaces  ',
  ])('round-trips %j', (s) => {
    const ids = tok.encode(s);
    expect(tok.decode(ids)).toBe(s);
    for (const id of ids) expect(id).toBeLessThan(tok.vocabSize);
  });

  it('applies merges: common words take fewer tokens than bytes', () => {
    const text = ' the answer and the model';
    expect(tok.encode(text).length).toBeLessThan(new TextEncoder().encode(text).length / 2);
    expect(tok.encode(' the')).toEqual([tok.tokenToId('Ġthe')]);
  });

  it('keeps special tokens as single ids and can skip them when decoding', () => {
    expect(tok.tokenToId('<|endoftext|>')).toBe(0);
    expect(tok.tokenToId('<|im_start|>')).toBe(1);
    expect(tok.tokenToId('<|im_end|>')).toBe(2);
    expect(tok.tokenToId('<|nope|>')).toBeUndefined();
    const ids = tok.encode('<|im_start|>user\nhi<|im_end|>');
    expect(ids[0]).toBe(1);
    expect(ids.at(-1)).toBe(2);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nhi');
    expect(tok.vocabSize).toBe(3 + 256 + 128);
  });

  it('renders ChatML with the given system message', () => {
    const { text, ids } = tok.applyChatTemplate([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is 2+2?' },
      { role: 'assistant', content: '4' },
    ]);
    expect(text).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n',
    );
    expect(ids).toEqual(tok.encode(text, { addSpecialTokens: false }));
    expect(ids.filter((id) => id === 1).length).toBe(3);
  });

  it('inserts the default system message and opens an assistant turn', () => {
    const { text, ids } = tok.applyChatTemplate([{ role: 'user', content: 'Hi there' }], { addGenerationPrompt: true });
    expect(text).toBe(
      `<|im_start|>system\n${DEFAULT_SYSTEM_MESSAGE}<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n`,
    );
    expect(text.endsWith('<|im_start|>assistant\n')).toBe(true);
    expect(ids).toEqual(tok.encode(text));
    expect(tok.decode(ids)).toBe(text);
  });

  it('knows the stop ids', () => {
    expect(tok.eosTokenIds).toEqual([2]);
    expect(tok.endOfTurnIds).toContain(2);
    expect(tok.endOfTurnIds).toContain(0); // <|endoftext|> exists, so it also stops a turn
  });

  it('picks up generation_config eos lists (qwen2) and the Qwen2Tokenizer class', async () => {
    const q = await loadTokenizer(new MapFileSet('qwen', makeTinyModel({ arch: 'qwen2' })));
    expect(q.eosTokenIds).toEqual([2, 0]);
    expect(new Set(q.endOfTurnIds)).toEqual(new Set([0, 2]));
    expect(q.decode(q.encode('Qwen says hi\n'))).toBe('Qwen says hi\n');
  });
});

describe('loadTokenizer errors', () => {
  it('throws MissingFileError when tokenizer.json or tokenizer_config.json is absent', async () => {
    for (const missing of ['tokenizer.json', 'tokenizer_config.json']) {
      const files = makeTinyModel();
      files.delete(missing);
      const err = await loadTokenizer(new MapFileSet('m', files)).catch((e) => e);
      expect(err).toBeInstanceOf(MissingFileError);
      expect(err.message).toContain(missing);
    }
  });

  it('throws ModelError naming tokenizer.json when transformers.js rejects it', async () => {
    const files = makeTinyModel();
    files.set('tokenizer.json', new TextEncoder().encode(JSON.stringify({ model: { type: 'Nonsense' } })));
    const err = await loadTokenizer(new MapFileSet('m', files)).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.file).toBe('m/tokenizer.json');
    expect(err.message).toMatch(/must contain|Unknown/);
  });

  it('throws ModelError for a file that is not JSON, and when there is no chat template', async () => {
    const sub = join(dir, 'broken');
    await writeTinyModel(sub);
    await writeFile(join(sub, 'tokenizer_config.json'), '{ not json');
    const err = await loadTokenizer(new DirFileSet(sub)).catch((e) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err.file).toContain('tokenizer_config.json');

    await writeFile(join(sub, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>' }));
    const plain = await loadTokenizer(new DirFileSet(sub));
    expect(() => plain.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(ModelError);
  });
});
