// Adapter name → base router model (and the path to load it from), and per replica the adapters registered there.
// Static entries come from config; discovery adds what the replicas' /v1/models list. The per-replica sets are the
// same Set objects the scheduler sees as BackendState.registeredAdapters.
import type { BackendState } from '../scheduling/contracts.ts';
import type { LoraAdapterConfig } from '../config/lora.ts';

export interface AdapterInfo {
  name: string;
  /** Router model name of the base. */
  base: string;
  path?: string | undefined;
  /** Configured (true) or discovered (false). */
  static: boolean;
}

export class AdapterCatalog {
  private readonly adapters = new Map<string, AdapterInfo>();
  private readonly registered = new Map<string, Set<string>>();

  constructor(
    configured: readonly LoraAdapterConfig[],
    /** Names adapters must not take (router models and aliases). */
    private readonly reserved: ReadonlySet<string>,
  ) {
    for (const adapter of configured) this.adapters.set(adapter.name, { ...adapter, static: true });
  }

  lookup(name: string): AdapterInfo | undefined {
    return this.adapters.get(name);
  }

  list(): AdapterInfo[] {
    return [...this.adapters.values()];
  }

  /** A discovered adapter; configured entries win (their path and base are the operator's). */
  discover(name: string, base: string, path: string | undefined): void {
    if (this.reserved.has(name)) return;
    const known = this.adapters.get(name);
    if (known?.static) {
      if (known.path === undefined && path !== undefined) known.path = path;
      return;
    }
    this.adapters.set(name, { name, base, static: false, ...(path !== undefined ? { path } : {}) });
  }

  /** The adapters registered on a replica (the scheduler's view shares this Set). */
  registeredOn(state: BackendState): Set<string> {
    let set = this.registered.get(state.id);
    if (!set) {
      set = new Set();
      this.registered.set(state.id, set);
    }
    state.registeredAdapters = set;
    return set;
  }

  /** Replace a replica's registered set with what its /v1/models lists now. */
  replaceRegistered(state: BackendState, names: Iterable<string>): void {
    const set = this.registeredOn(state);
    set.clear();
    for (const name of names) set.add(name);
  }
}
