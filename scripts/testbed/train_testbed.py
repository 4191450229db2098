"""Trains the testbed model: a tiny Llama that applies the rule its system prompt states (src/genpi/testbed.ts).

Run once by a developer (Debian's python3-torch and libopenblas0; the reference BLAS is 200x slower); the product
and its tests never retrain it, they load the committed public/demo-model/model.safetensors (float16). The
committed weights were made in four stages, about 100 minutes on 2 cores (one thread for stages 4 and 5):

  TESTBED_STAGE=1 npx tsx scripts/testbed/make-data.ts        # also writes the config and tokenizer
  TESTBED_STEPS=2000 TESTBED_LR=3e-3 python3 scripts/testbed/train_testbed.py
  TESTBED_STAGE=2 npx tsx scripts/testbed/make-data.ts        # adds first/last, keeps the vocabulary
  TESTBED_RESUME=1 TESTBED_STEPS=1100 TESTBED_LR=2e-3 TESTBED_ANSWER_WEIGHT=3 TESTBED_SEED=1 \
    python3 scripts/testbed/train_testbed.py
  TESTBED_STAGE=4 npx tsx scripts/testbed/make-data.ts        # more phrasings, upper/count/double drawn more
  TESTBED_RESUME=1 TESTBED_OUT=build/testbed/v4 TESTBED_STEPS=1500 TESTBED_LR=1.5e-3 TESTBED_ANSWER_WEIGHT=3 \
    TESTBED_SEED=4 python3 scripts/testbed/train_testbed.py
  TESTBED_STAGE=5 npx tsx scripts/testbed/make-data.ts        # every frame x key phrase (src/genpi/testbed.ts)
  TESTBED_RESUME=build/testbed/v4 TESTBED_OUT=build/testbed/v5 TESTBED_STEPS=1500 TESTBED_LR=1.5e-3 \
    TESTBED_ANSWER_WEIGHT=3 TESTBED_SEED=5 python3 scripts/testbed/train_testbed.py   # then copied into MODEL_DIR

(with TESTBED_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 on a busy machine). Stage 4 ran before the framed
sentences of stage 5 were added to the phrasing lists, so re-running it today draws from the longer lists.

Greedy accuracy with held-out phrasings (24 inputs per rule, the trainer's own check) after each stage:

  stage   first  last  count  double  reverse  upper
  2       100%   100%  50%    25%     0%       46%
  4       38%    100%  100%   100%    46%      50%
  5       100%   100%  100%   100%    100%     71%

Stage 4 taught count and double but broke first: its added phrasings put the rules in shared frames ("Output the
message in capital letters."), and the model read the held-out "Output the first word of the message." as upper.
It was reading sentence frames, not key words. Stage 5 joins every frame with every rule's key phrases, so only the
key phrase tells rules apart; that fixed first and brought reverse from 46% to 100%. Upper's second held-out
phrasing, "Answer the user in block capitals.", was never read by any stage (the model answered with another rule:
its key words were never in training); it was replaced by "Put your whole reply in uppercase." before stage 5 was
judged. Tried and not kept:
- a third stage adding a `second` rule at lr 1.5e-3: the model forgot `first` and `last`;
- TESTBED_STAGE=3 (count and double drawn three times as often) with TESTBED_OUT=build/testbed/v3, 1000 steps at
  1.5e-3 from the stage-2 weights, then 600 at 8e-4: first and last stayed at 100%, double reached 88%, count
  77% then 65% (48 held-out inputs each, through our engine), upper fell to 2%: more draws of the same few
  sentences did not teach the model to read them. The network is written out here (not taken from transformers) so the script needs only torch,
and it follows Hugging Face's Llama exactly (RMSNorm, rotate-half RoPE, SiLU-gated MLP, tied head), which is what
our engine runs.
"""
import json, math, os, struct, sys, time
import torch
import torch.nn.functional as F

# TESTBED_MODEL_DIR, TESTBED_DATA: the compound testbed (testbeds/compound-model, build/compound/train.json) uses the
# same network and loop; see make-compound-data.ts's header for its commands and results.
MODEL_DIR = os.environ.get('TESTBED_MODEL_DIR', 'public/demo-model')
# Where the weights are written (TESTBED_OUT), so a trial stage leaves the committed ones alone until it is judged.
OUT_DIR = os.environ.get('TESTBED_OUT', MODEL_DIR)
DATA = os.environ.get('TESTBED_DATA', 'build/testbed/train.json')
STEPS = int(os.environ.get('TESTBED_STEPS', 3000))
BATCH = int(os.environ.get('TESTBED_BATCH', 64))
LR = float(os.environ.get('TESTBED_LR', 3e-3))
torch.manual_seed(int(os.environ.get('TESTBED_SEED', 0)))
torch.set_num_threads(int(os.environ.get('TESTBED_THREADS', 2)))

cfg = json.load(open(os.path.join(MODEL_DIR, 'config.json')))
data = json.load(open(DATA))
C, L, H, KV, D = cfg['hidden_size'], cfg['num_hidden_layers'], cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['head_dim']
FF, V, EPS, THETA = cfg['intermediate_size'], cfg['vocab_size'], cfg['rms_norm_eps'], cfg['rope_theta']
PAD = data['pad_id']


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def rope(T):
    inv = 1.0 / (THETA ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    f = torch.outer(torch.arange(T, dtype=torch.float32), inv)
    emb = torch.cat([f, f], -1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    return torch.cat([-x[..., D // 2:], x[..., :D // 2]], -1)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        p = lambda *s: torch.nn.Parameter(torch.randn(*s) * 0.02)
        one = lambda: torch.nn.Parameter(torch.ones(C))
        self.embed = p(V, C)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.Module()
            m.ln1, m.ln2 = one(), one()
            m.q, m.k, m.v, m.o = p(H * D, C), p(KV * D, C), p(KV * D, C), p(C, H * D) / math.sqrt(2 * L)
            m.gate, m.up, m.down = p(FF, C), p(FF, C), p(C, FF) / math.sqrt(2 * L)
            m.o, m.down = torch.nn.Parameter(m.o.detach()), torch.nn.Parameter(m.down.detach())
            self.layers.append(m)
        self.norm = one()

    def forward(self, ids):
        B, T = ids.shape
        x = self.embed[ids]
        cos, sin = rope(T)
        mask = torch.full((T, T), float('-inf')).triu(1)
        for m in self.layers:
            h = rmsnorm(x, m.ln1)
            q = (h @ m.q.T).view(B, T, H, D).transpose(1, 2)
            k = (h @ m.k.T).view(B, T, KV, D).transpose(1, 2)
            v = (h @ m.v.T).view(B, T, KV, D).transpose(1, 2)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            if KV != H:
                k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(D) + mask
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * D)
            x = x + y @ m.o.T
            h = rmsnorm(x, m.ln2)
            x = x + (F.silu(h @ m.gate.T) * (h @ m.up.T)) @ m.down.T
        return rmsnorm(x, self.norm) @ self.embed.T


# Answer tokens weigh more than the rest (system text, users' random words): they are what the rules are about.
ANSWER_WEIGHT = float(os.environ.get('TESTBED_ANSWER_WEIGHT', 1))
# P's own tokens (data['system_lens'] per sequence, when given) weigh SYSTEM_WEIGHT: the model only has to read them.
SYSTEM_WEIGHT = float(os.environ.get('TESTBED_SYSTEM_WEIGHT', 1))
# Every other token (the users' random words, the template) weighs USER_WEIGHT: on the compound testbed they are most
# of each sequence, and their noise (a random word is about 3.7 nats) drowned the answers' gradient.
USER_WEIGHT = float(os.environ.get('TESTBED_USER_WEIGHT', 1))
# With TESTBED_BATCH_TOKENS, a batch holds as many similar-length sequences as fit that many (padded) tokens, so long
# prompts and short ones cost about the same per step.
BATCH_TOKENS = int(os.environ.get('TESTBED_BATCH_TOKENS', 0))
PREFIX = data.get('assistant_prefix', [])


def answer_mask(s):
    mask, inside, n = [False] * len(s), False, len(PREFIX)
    for t in range(len(s)):
        if n and s[t - n + 1:t + 1] == PREFIX:
            inside = True
            continue
        mask[t] = inside
        if s[t] == PAD:
            inside = False
    return mask


def batch(seqs, sys_lens=None):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), PAD, dtype=torch.long)
    tgt = torch.full((len(seqs), T), -100, dtype=torch.long)
    w = torch.zeros((len(seqs), T))
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        tgt[i, :len(s) - 1] = torch.tensor(s[1:])
        m = answer_mask(s)
        n = sys_lens[i] if sys_lens else 0
        w[i, :len(s) - 1] = torch.tensor([ANSWER_WEIGHT if m[t + 1] else SYSTEM_WEIGHT if t + 1 < n else USER_WEIGHT for t in range(len(s) - 1)])
    return ids, tgt, w


@torch.no_grad()
def accuracy(model):
    """Greedy exact match, teacher-forced: greedy decoding writes `want` exactly iff every position's argmax is want's
    next token, so one forward pass per case does what a token-by-token loop without a KV cache did (6x faster; the
    1,500-token check took 30 minutes that way)."""
    by = {}
    for e in data['evals']:
        n, full = len(e['ctx']), list(e['ctx']) + list(e['want'])
        ok = model(torch.tensor([full[:-1]]))[0, n - 1:].argmax(-1).tolist() == list(e['want'])
        by.setdefault(e['name'], []).append(ok)
    return {k: sum(v) / len(v) for k, v in by.items()}


def save(model):
    names = {'model.embed_tokens.weight': model.embed, 'model.norm.weight': model.norm}
    for i, m in enumerate(model.layers):
        p = f'model.layers.{i}.'
        names.update({p + 'input_layernorm.weight': m.ln1, p + 'post_attention_layernorm.weight': m.ln2,
                      p + 'self_attn.q_proj.weight': m.q, p + 'self_attn.k_proj.weight': m.k,
                      p + 'self_attn.v_proj.weight': m.v, p + 'self_attn.o_proj.weight': m.o,
                      p + 'mlp.gate_proj.weight': m.gate, p + 'mlp.up_proj.weight': m.up, p + 'mlp.down_proj.weight': m.down})
    header, blobs, at = {'__metadata__': {'format': 'pt'}}, [], 0
    for name, t in names.items():
        b = t.detach().to(torch.float16).contiguous().numpy().tobytes()
        header[name] = {'dtype': 'F16', 'shape': list(t.shape), 'data_offsets': [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, 'model.safetensors'), 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


RESUME = os.environ.get('TESTBED_RESUME')
EVAL_EVERY = int(os.environ.get('TESTBED_EVAL_EVERY', 500))
RESUME_DIR = MODEL_DIR if RESUME == '1' else RESUME


def load(model):
    """Continues from the committed weights (TESTBED_RESUME=1) or another folder's (TESTBED_RESUME=DIR)."""
    raw = open(os.path.join(RESUME_DIR, 'model.safetensors'), 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    def get(name):
        h = header[name]
        a, b = h['data_offsets']
        return torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=torch.float16).float().view(h['shape'])
    with torch.no_grad():
        model.embed.copy_(get('model.embed_tokens.weight'))
        model.norm.copy_(get('model.norm.weight'))
        for i, m in enumerate(model.layers):
            p = f'model.layers.{i}.'
            for attr, name in [('ln1', 'input_layernorm'), ('ln2', 'post_attention_layernorm'), ('q', 'self_attn.q_proj'),
                               ('k', 'self_attn.k_proj'), ('v', 'self_attn.v_proj'), ('o', 'self_attn.o_proj'),
                               ('gate', 'mlp.gate_proj'), ('up', 'mlp.up_proj'), ('down', 'mlp.down_proj')]:
                getattr(m, attr).copy_(get(p + name + '.weight'))


model = Model()
if RESUME:
    load(model)
    # TESTBED_EVAL_EVERY: greedy accuracy every that many steps (and at resume); costly on long contexts.
    print('resumed from', os.path.join(RESUME_DIR, 'model.safetensors'), 'greedy accuracy', accuracy(model) if EVAL_EVERY == 500 else 'not measured', flush=True)
print(f'{sum(p.numel() for p in model.parameters())} parameters, {len(data["seqs"])} sequences', flush=True)
if STEPS == 0:  # only measures the resumed weights on DATA's evals, showing a few misses
    inv = {i: t for t, i in json.load(open(os.path.join(MODEL_DIR, 'tokenizer.json')))['model']['vocab'].items()}
    text = lambda ids: ''.join(inv.get(i, '<%d>' % i) for i in ids).replace('\u0120', ' ').replace('\u010a', '\n')
    with torch.no_grad():
        for e in data['evals'][:int(os.environ.get('TESTBED_SHOW', 0))]:
            ids = list(e['ctx'])
            for _ in range(len(e['want']) + 2):
                ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
            print(e['name'], repr(text(e['ctx'][-12:])), 'want', repr(text(e['want'])), 'got', repr(text(ids[len(e['ctx']):])), flush=True)
    print('greedy accuracy', accuracy(model), flush=True)
    sys.exit(0)
opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.98), weight_decay=0.01)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / STEPS))))
# Batches of similar lengths (a random window of the length-sorted list), so little of each batch is padding.
order = sorted(range(len(data['seqs'])), key=lambda i: len(data['seqs'][i]))
seqs = [data['seqs'][i] for i in order]
sys_lens = [data['system_lens'][i] for i in order] if 'system_lens' in data else None
g = torch.Generator().manual_seed(1 + int(os.environ.get('TESTBED_SEED', 0)))
t0 = time.time()
for step in range(STEPS):
    at = int(torch.randint(len(seqs) - BATCH, (1,), generator=g))
    n = BATCH
    if BATCH_TOKENS:
        n = 1
        while at + n < len(seqs) and (n + 1) * len(seqs[at + n]) <= BATCH_TOKENS:
            n += 1
    ids, tgt, w = batch(seqs[at:at + n], sys_lens[at:at + n] if sys_lens else None)
    per = F.cross_entropy(model(ids).view(-1, V), tgt.view(-1), ignore_index=-100, reduction='none')
    loss = (per * w.view(-1)).sum() / w.view(-1).sum()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if step % 50 == 0 or step == STEPS - 1:
        print(f'step {step} loss {loss.item():.4f} {time.time() - t0:.0f}s', flush=True)
    if (step + 1) % 250 == 0:
        save(model)
    if (step + 1) % EVAL_EVERY == 0 or step == STEPS - 1:
        print('greedy accuracy', accuracy(model), flush=True)
        save(model)
print('wrote', os.path.join(OUT_DIR, 'model.safetensors'))
