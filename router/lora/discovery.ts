// Reads every vLLM replica's /v1/models: entries with a `parent` are LoRA adapters (vLLM lists them with the adapter
// path as `root`). Each round records which adapters each replica has registered and adds adapters the config does
// not list, mapped to the router model the replica's pool serves (the one named like `parent`, else the pool's first).
import { request as undiciRequest } from 'undici';
import type { BackendRegistry } from '../pools/backend-registry.ts';
import type { AdapterCatalog } from './catalog.ts';

/** GET `${replicaUrl}/v1/models` → parsed JSON. */
export type ModelsFetcher = (replicaUrl: string, timeoutMs: number) => Promise<unknown>;

export const httpModelsFetcher: ModelsFetcher = async (replicaUrl, timeoutMs) => {
  const base = replicaUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  const response = await undiciRequest(`${base}/v1/models`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`/v1/models answered ${response.statusCode}`);
  }
  return response.body.json();
};

interface ModelCard {
  id: string;
  root?: unknown;
  parent?: unknown;
}

function cardsOf(listing: unknown): ModelCard[] {
  const data = (listing as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return [];
  return data.filter((card): card is ModelCard => typeof (card as ModelCard | null)?.id === 'string');
}

export class AdapterDiscovery {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: BackendRegistry,
    private readonly catalog: AdapterCatalog,
    private readonly options: { intervalMs: number; fetcher?: ModelsFetcher },
  ) {}

  /** One round over every vLLM replica; a replica that does not answer keeps what was known about it. */
  async discoverOnce(): Promise<void> {
    const fetcher = this.options.fetcher ?? httpModelsFetcher;
    const timeoutMs = Math.max(1_000, Math.min(this.options.intervalMs, 5_000));
    await Promise.all(
      this.registry.all().map(async (entry) => {
        if (entry.state.kind !== 'vllm') return;
        let cards: ModelCard[];
        try {
          cards = cardsOf(await fetcher(entry.state.url, timeoutMs));
        } catch {
          return;
        }
        const adapters: string[] = [];
        for (const card of cards) {
          if (typeof card.parent !== 'string' || card.parent === '') continue;
          const base = entry.state.models.includes(card.parent) ? card.parent : entry.state.models[0];
          if (base === undefined) continue;
          this.catalog.discover(card.id, base, typeof card.root === 'string' ? card.root : undefined);
          adapters.push(card.id);
        }
        this.catalog.replaceRegistered(entry.state, adapters);
      }),
    );
  }

  start(): void {
    this.stop();
    this.timer = setInterval(() => void this.discoverOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
