// Prompt versions in production: the registry's YAML files plus a rollout file that says, per prompt, which version
// is active, how traffic is split between versions (weighted A/B) and which versions were active before (for
// rollback). Assignment under a split is sticky: the same user/session key always lands on the same version, by a
// hash of (prompt, key). Files and the rollout file are re-read when they change (fs.watch) or on demand (admin API),
// without a restart; a broken edit keeps the last good state and is reported, never half-applied.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.ts';
import { PromptRegistry, type PromptFile } from '../governance/prompts/registry.ts';

/** The chain's own prompt files (chain-analyze, chain-hyde, chain-answer, chain-verify, chain-regenerate). */
export const SHIPPED_PROMPTS_DIR = fileURLToPath(new URL('./prompts', import.meta.url));

const RolloutEntry = z.strictObject({
  active: z.string().optional(),
  /** version → weight (any positive numbers; shares are weight / sum). */
  weights: z.record(z.string(), z.number().positive()).optional(),
  /** Versions that were active before, oldest first; `rollback` pops the last. */
  history: z.array(z.string()).default([]),
});
export type RolloutEntry = z.infer<typeof RolloutEntry>;
const RolloutFile = z.strictObject({ prompts: z.record(z.string(), RolloutEntry).default({}) });
export type RolloutState = Record<string, RolloutEntry>;

export interface ResolvedPrompt {
  prompt: PromptFile;
  /** How the version was chosen: named by the caller, a weighted split, the active pointer, or the latest file. */
  via: 'named' | 'split' | 'active' | 'latest';
}

export interface RenderedStepPrompt {
  name: string;
  version: string;
  hash: string;
  via: ResolvedPrompt['via'];
  messages: Array<{ role: string; content: string }>;
  defaults: { model?: string; max_tokens?: number; temperature?: number };
}

/** Reads and writes the rollout file; shared by the router (watching it) and the CLI (editing it). */
export class RolloutFileStore {
  constructor(readonly path: string) {}

  read(): RolloutState {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return {};
    }
    const parsed = RolloutFile.safeParse(parse(text) ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`rollout file ${this.path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    return parsed.data.prompts;
  }

  /** Atomic replace (write + rename), so a watcher never reads half a file. */
  write(state: RolloutState): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, stringify({ prompts: state }));
    renameSync(temporary, this.path);
  }
}

/** Pure edits of the rollout state; each checks the version exists in the registry. */
export const rolloutEdits = {
  activate(state: RolloutState, registry: PromptRegistry, name: string, version: string): RolloutState {
    registry.get(name, version);
    const entry = state[name] ?? { history: [] };
    const previous = entry.active ?? registry.get(name).version;
    const history = previous === version ? entry.history : [...entry.history, previous];
    return { ...state, [name]: { active: version, history } };
  },
  split(state: RolloutState, registry: PromptRegistry, name: string, weights: Record<string, number>): RolloutState {
    if (Object.keys(weights).length === 0)
      throw new InvalidRequestError('a split needs at least one version=weight', { param: 'weights' });
    for (const [version, weight] of Object.entries(weights)) {
      registry.get(name, version);
      if (!(weight > 0))
        throw new InvalidRequestError(`weight of ${name}@${version} must be positive`, { param: 'weights' });
    }
    const entry = state[name] ?? { history: [] };
    return { ...state, [name]: { ...entry, weights } };
  },
  /** Back to the previously active version; a split is dropped (traffic goes to that one version). */
  rollback(
    state: RolloutState,
    registry: PromptRegistry,
    name: string,
  ): { state: RolloutState; from: string; to: string } {
    registry.get(name);
    const entry = state[name] ?? { history: [] };
    const from = entry.active ?? registry.get(name).version;
    const to = entry.history.at(-1);
    if (to === undefined) {
      throw new InvalidRequestError(`prompt ${name} has no earlier active version to roll back to (active: ${from})`, {
        code: 'nothing_to_roll_back',
      });
    }
    return { state: { ...state, [name]: { active: to, history: entry.history.slice(0, -1) } }, from, to };
  },
};

/** Registry from the shipped chain prompts plus the configured folders (same name@version twice is an error). */
export function loadRegistry(dirs: readonly string[]): PromptRegistry {
  const registry = new PromptRegistry();
  for (const dir of [SHIPPED_PROMPTS_DIR, ...dirs]) {
    const single = PromptRegistry.fromDirectory(dir);
    for (const { name, versions } of single.list()) {
      for (const version of versions) registry.add(single.get(name, version), `${dir}/${name}@${version}`);
    }
  }
  return registry;
}

export function stickyFraction(name: string, key: string): number {
  return createHash('sha256').update(`${name}\u0000${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

const VARIABLE = /\{\{\s*(\w+)\s*\}\}/g;

export interface PromptStoreOptions {
  dirs: readonly string[];
  rolloutFile: string;
  watch: boolean;
  random?: () => number;
  /** Called after every reload attempt (error when the new files were rejected and the old state kept). */
  onReload?: (error?: unknown) => void;
}

export class PromptStore {
  private current: PromptRegistry;
  private rollout: RolloutState;
  private readonly file: RolloutFileStore;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly random: () => number;
  reloads = 0;

  constructor(private readonly options: PromptStoreOptions) {
    this.file = new RolloutFileStore(resolve(options.rolloutFile));
    this.random = options.random ?? Math.random;
    this.current = loadRegistry(options.dirs);
    this.rollout = this.file.read();
    if (options.watch) this.startWatching();
  }

  get registry(): PromptRegistry {
    return this.current;
  }

  get rolloutPath(): string {
    return this.file.path;
  }

  state(): RolloutState {
    return this.rollout;
  }

  /** Re-reads prompt folders and the rollout file; on any error the previous state stays. */
  reload(): void {
    try {
      const registry = loadRegistry(this.options.dirs);
      const rollout = this.file.read();
      this.current = registry;
      this.rollout = rollout;
      this.reloads++;
      this.options.onReload?.();
    } catch (error) {
      this.options.onReload?.(error);
      throw error;
    }
  }

  /** Which version serves this request: named > split (sticky by key) > active pointer > latest. */
  resolve(name: string, version?: string, stickyKey?: string): ResolvedPrompt {
    if (version !== undefined) return { prompt: this.current.get(name, version), via: 'named' };
    const entry = this.rollout[name];
    const weights = entry?.weights === undefined ? [] : Object.entries(entry.weights);
    if (weights.length > 0) {
      const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
      let point = (stickyKey === undefined ? this.random() : stickyFraction(name, stickyKey)) * total;
      for (const [candidate, weight] of weights) {
        point -= weight;
        if (point < 0) return { prompt: this.current.get(name, candidate), via: 'split' };
      }
      return { prompt: this.current.get(name, weights.at(-1)![0]), via: 'split' };
    }
    if (entry?.active !== undefined) return { prompt: this.current.get(name, entry.active), via: 'active' };
    return { prompt: this.current.get(name), via: 'latest' };
  }

  render(name: string, variables: Record<string, string>, stickyKey?: string, version?: string): RenderedStepPrompt {
    const { prompt, via } = this.resolve(name, version, stickyKey);
    const messages = prompt.template.map((message) => ({
      role: message.role,
      content: message.content.replace(VARIABLE, (_match, variable: string) => variables[variable] ?? ''),
    }));
    const hash = createHash('sha256').update(JSON.stringify(messages)).digest('hex').slice(0, 16);
    const defaults: RenderedStepPrompt['defaults'] = {};
    if (prompt.model !== undefined) defaults.model = prompt.model;
    if (prompt.max_tokens !== undefined) defaults.max_tokens = prompt.max_tokens;
    if (prompt.temperature !== undefined) defaults.temperature = prompt.temperature;
    return { name: prompt.name, version: prompt.version, hash, via, messages, defaults };
  }

  /** Applies an edit, writes the rollout file and takes it at once (the watcher will see the same state). */
  edit(change: (state: RolloutState, registry: PromptRegistry) => RolloutState): RolloutState {
    const next = change(this.file.read(), this.current);
    this.file.write(next);
    this.rollout = next;
    return next;
  }

  close(): void {
    clearTimeout(this.timer);
    for (const watcher of this.watchers.splice(0)) watcher.close();
  }

  private startWatching(): void {
    const schedule = (): void => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        try {
          this.reload();
        } catch {
          // Reported through onReload; the last good state keeps serving.
        }
      }, 50);
      this.timer.unref();
    };
    const rolloutDir = dirname(this.file.path);
    mkdirSync(rolloutDir, { recursive: true });
    const rolloutName = basename(this.file.path);
    const watchDir = (dir: string, filter: (file: string) => boolean): void => {
      const watcher = watch(dir, (_event, file) => {
        if (file !== null && filter(String(file))) schedule();
      });
      watcher.unref();
      this.watchers.push(watcher);
    };
    watchDir(rolloutDir, (file) => file === rolloutName);
    for (const dir of this.options.dirs) watchDir(resolve(dir), (file) => /\.ya?ml$/.test(file));
  }
}
