// Keeps one vLLM pool's backends equal to what discovery resolves: a new endpoint is registered once its health
// check passes (until then it is retried every round), a vanished one is drained (no new requests, in-flight ones
// finish, bounded) and then deregistered. A failed lookup changes nothing. Replica ids are `<pool>/<host>:<port>`,
// the same on every router replica, which consistent-hash affinity relies on.
import type { PoolRegistry } from '../../core/pool-contracts.ts';
import type { DiscoveryConfig } from '../config/discovery.ts';
import { type DnsResolver, type Endpoint, resolveEndpoints, systemResolver } from './dns.ts';

export type HealthCheck = (url: string, timeoutMs: number) => Promise<boolean>;

export interface DiscoveryEvent {
  type: 'joined' | 'unhealthy' | 'drained' | 'lookup-failed';
  pool: string;
  replicaId?: string;
  detail?: string;
}

export interface PoolDiscoveryOptions {
  pool: string;
  /** The model name registered replicas answer to (the pool's servedModel or catalog model). */
  model: string;
  config: DiscoveryConfig;
  registry: PoolRegistry;
  resolver?: DnsResolver;
  health?: HealthCheck;
  onEvent?: (event: DiscoveryEvent) => void;
  /**
   * Awaited after a round in which replicas joined: the router scrapes them at once, since a replica never scraped
   * counts as saturated (fail closed) and would not be picked until the next scrape.
   */
  afterJoin?: () => Promise<void>;
}

export const httpHealthCheck: HealthCheck = async (url, timeoutMs) => {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
};

export function replicaIdOf(pool: string, endpoint: Endpoint): string {
  return `${pool}/${endpoint.host}:${endpoint.port}`;
}

export class PoolDiscovery {
  private readonly options: PoolDiscoveryOptions;
  private readonly resolver: DnsResolver;
  private readonly health: HealthCheck;
  /** Registered by this discovery (id → url). */
  private readonly members = new Map<string, string>();
  private readonly draining = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(options: PoolDiscoveryOptions) {
    this.options = options;
    this.resolver = options.resolver ?? systemResolver(options.config.dns.servers);
    this.health = options.health ?? httpHealthCheck;
  }

  /** Replica ids currently routed to (joined, not draining). */
  get replicaIds(): string[] {
    return [...this.members.keys()].filter((id) => !this.draining.has(id)).sort();
  }

  /** One resolve-and-reconcile round; concurrent calls share the round in progress. */
  refresh(): Promise<void> {
    this.running ??= this.reconcile().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.refresh(), this.options.config.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private emit(event: Omit<DiscoveryEvent, 'pool'>): void {
    this.options.onEvent?.({ pool: this.options.pool, ...event });
  }

  private async reconcile(): Promise<void> {
    const { pool, config } = this.options;
    let endpoints: Endpoint[];
    try {
      endpoints = await resolveEndpoints(config.dns, this.resolver);
    } catch (error) {
      this.emit({ type: 'lookup-failed', detail: (error as Error).message });
      return;
    }
    if (this.closed) return;
    const wanted = new Map(
      endpoints.map((endpoint) => [
        replicaIdOf(pool, endpoint),
        `${config.scheme}://${endpoint.host}:${endpoint.port}`,
      ]),
    );
    // Vanished endpoints stop getting requests first (health checks of new ones may take a while). Drains run in the
    // background so a long drain never delays joins.
    const leaving = [...this.members.keys()].filter((id) => !wanted.has(id) && !this.draining.has(id));
    for (const replicaId of leaving) void this.remove(replicaId);
    const joining = [...wanted].filter(([id]) => !this.members.has(id));
    let joined = 0;
    await Promise.all(
      joining.map(async ([replicaId, url]) => {
        if (!(await this.health(`${url}${config.healthPath}`, config.healthTimeoutMs))) {
          this.emit({ type: 'unhealthy', replicaId, detail: url });
          return;
        }
        if (this.closed) return;
        await this.options.registry.register({ replicaId, pool, model: this.options.model, url, gpuIds: [] });
        this.members.set(replicaId, url);
        joined++;
        this.emit({ type: 'joined', replicaId, detail: url });
      }),
    );
    if (joined > 0) await this.options.afterJoin?.();
  }

  private async remove(replicaId: string): Promise<void> {
    this.draining.add(replicaId);
    try {
      const result = await this.options.registry.drain(replicaId, { timeoutMs: this.options.config.drainTimeoutMs });
      await this.options.registry.deregister(replicaId);
      this.emit({
        type: 'drained',
        replicaId,
        detail: result.drained ? `after ${result.waitedMs} ms` : `${result.inFlight} still in flight at the timeout`,
      });
    } finally {
      this.members.delete(replicaId);
      this.draining.delete(replicaId);
    }
  }
}
