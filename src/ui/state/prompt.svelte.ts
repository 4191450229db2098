// The prompt P being internalized: its text (typed, pasted or from a preset), how it parses (at once, on the page)
// and its token count with the loaded model's template (from the worker), the role-play environment, and the
// optional action pattern. The draft is saved so a reload keeps it.
import { DEMO_PRESETS, PRESETS, presetById, type PromptPreset } from '../../genpi/presets';
import { parsePrompt, type ParsedPrompt } from '../../genpi/prompt';
import { DEFAULT_ENVIRONMENT, type Environment } from '../../genpi/roleplay';
import type { StoredPrompt } from '../../store/schema';
import type { ErrorInfo, PromptReport } from '../../worker/api';
import type { EngineClient } from '../../worker/client';
import { errorInfo } from '../errors';
import type { ModelState } from './model.svelte';
import type { StoreState } from './store.svelte';

const DRAFT_KEY = 'prompt-draft';
const INSPECT_DELAY_MS = 500;

interface Draft extends StoredPrompt {
  presetId: string | null;
}

export class PromptState {
  text = $state('');
  presetId = $state<string | null>(null);
  environment = $state<Environment>({ ...DEFAULT_ENVIRONMENT });
  actionPattern = $state('');
  /** The worker's reading with the token count, for the text it was asked about. */
  report = $state.raw<PromptReport | null>(null);
  reportFor = $state('');
  workerError = $state<ErrorInfo | null>(null);
  inspecting = $state(false);
  /** The preset's suggested turn limit goes to the synthesis settings. */
  onPreset: ((p: PromptPreset) => void) | null = null;
  readonly presets = [...PRESETS, ...DEMO_PRESETS];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly engine: EngineClient,
    private readonly model: ModelState,
    private readonly store: StoreState,
  ) {}

  /** The page's own parse: instant, and the same code the worker runs. */
  parsed = $derived.by((): { ok: ParsedPrompt | null; error: ErrorInfo | null } => {
    if (this.text.trim() === '') return { ok: null, error: null };
    try {
      return { ok: parsePrompt(this.text), error: null };
    } catch (e) {
      return { ok: null, error: errorInfo(e) };
    }
  });

  patternError = $derived.by((): string | null => {
    if (!this.actionPattern) return null;
    try {
      new RegExp(this.actionPattern, 'm');
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  });

  get presetTitle(): string | null {
    return this.presetId ? (presetById(this.presetId)?.title ?? null) : null;
  }

  /** The report for the current text, or null while it is stale. */
  get currentReport(): PromptReport | null {
    return this.report && this.reportFor === this.text ? this.report : null;
  }

  get stored(): StoredPrompt {
    return { text: this.text, environment: $state.snapshot(this.environment), actionPattern: this.actionPattern };
  }

  setText(text: string): void {
    this.text = text;
    this.schedule();
  }

  applyPreset(id: string): void {
    const p = presetById(id);
    if (!p) return;
    this.presetId = p.id;
    this.text = p.text;
    this.environment = { ...p.environment };
    this.actionPattern = p.actionPattern;
    this.onPreset?.(p);
    this.schedule(0);
  }

  /** Takes the prompt a saved dataset was made with (when the page has none of its own). */
  adopt(p: StoredPrompt, presetId: string | null = null): void {
    this.text = p.text;
    this.environment = { ...p.environment };
    this.actionPattern = p.actionPattern;
    this.presetId = presetId;
    this.schedule(0);
  }

  schedule(delay = INSPECT_DELAY_MS): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.inspect(), delay);
  }

  /** Asks the worker for the token count (needs a model) and saves the draft. */
  async inspect(): Promise<void> {
    clearTimeout(this.timer);
    const text = this.text;
    void this.saveDraft();
    if (!this.model.summary || !this.parsed.ok) {
      this.workerError = null;
      return;
    }
    this.inspecting = true;
    try {
      const report = await this.engine.inspectPrompt(text);
      if (this.text === text) {
        this.report = report;
        this.reportFor = text;
        this.workerError = null;
      }
    } catch (e) {
      if (this.text === text) this.workerError = errorInfo(e);
    } finally {
      this.inspecting = false;
    }
  }

  async saveDraft(): Promise<void> {
    const draft: Draft = { ...this.stored, presetId: this.presetId };
    await this.store.save('the prompt draft', (s) => s.setSetting(DRAFT_KEY, draft));
  }

  async restoreDraft(): Promise<boolean> {
    const d = await this.store.read((s) => s.getSetting<Draft>(DRAFT_KEY));
    if (!d || typeof d.text !== 'string' || this.text) return false;
    this.adopt(d, d.presetId ?? null);
    return true;
  }
}
