// Sending a request for a LoRA adapter to one replica: make sure the adapter is registered there first (one
// POST /v1/load_lora_adapter per replica and adapter, however many requests wait for it: single flight), send with
// the adapter's name as `model`, and if the replica answers 404 because it no longer has the adapter (a restart
// forgets dynamically loaded ones) register it again and resend once — nothing was generated, so that is safe.
// A load that fails is a retryable error: the dispatcher moves on to another replica.
import { request as undiciRequest } from 'undici';
import type { BackendRequest, BackendResponse } from '../backends/contracts.ts';
import { type SwitchyardError, UpstreamError, toSwitchyardError } from '../../core/errors.ts';
import type { CancelSignal } from '../resilience/cancellation.ts';
import type { BackendEntry } from '../pools/backend-registry.ts';
import type { AdapterCatalog, AdapterInfo } from './catalog.ts';
import type { LoraMetrics } from './metrics.ts';

/** POST `body` as JSON to `${replicaUrl}${path}`; resolves with the status and text of the answer. */
export type LoraTransport = (
  replicaUrl: string,
  path: string,
  body: Record<string, unknown>,
  timeoutMs: number,
) => Promise<{ status: number; text: string }>;

export const httpTransport: LoraTransport = async (replicaUrl, path, body, timeoutMs) => {
  const base = replicaUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
  const response = await undiciRequest(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return { status: response.statusCode, text: await response.body.text() };
};

export interface AdapterSenderOptions {
  catalog: AdapterCatalog;
  metrics: LoraMetrics;
  transport?: LoraTransport;
  loadOnDemand: boolean;
  loadTimeoutMs: number;
  /** Clock for load durations (ms). */
  clock?: () => number;
}

/** What the dispatcher calls instead of `backend.send` for a request that names an adapter. */
export interface AdapterSender {
  send(entry: BackendEntry, adapter: string, request: BackendRequest): Promise<BackendResponse>;
}

export class AdapterLoader implements AdapterSender {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly transport: LoraTransport;
  private readonly clock: () => number;

  constructor(private readonly options: AdapterSenderOptions) {
    this.transport = options.transport ?? httpTransport;
    this.clock = options.clock ?? Date.now;
  }

  async send(entry: BackendEntry, adapterName: string, request: BackendRequest): Promise<BackendResponse> {
    const adapter = this.options.catalog.lookup(adapterName) ?? { name: adapterName, base: '', static: false };
    const registered = this.options.catalog.registeredOn(entry.state);
    if (!registered.has(adapterName)) await this.ensure(entry, adapter, request.signal);
    const upstream: BackendRequest = { ...request, body: { ...request.body, model: adapterName }, bodyText: undefined };
    this.options.metrics.requests(adapterName).inc();
    try {
      return await entry.backend.send(upstream);
    } catch (error) {
      const typed = toSwitchyardError(error);
      if (!isMissingModel(typed) || !this.options.loadOnDemand) throw typed;
      registered.delete(adapterName);
      await this.ensure(entry, adapter, request.signal);
      return entry.backend.send(upstream);
    }
  }

  /** Register `adapter` on the replica (shared by every request waiting for the same replica and adapter). */
  private ensure(entry: BackendEntry, adapter: AdapterInfo, signal: CancelSignal): Promise<void> {
    if (!this.options.loadOnDemand || adapter.path === undefined) {
      return Promise.reject(
        new UpstreamError(`The adapter \`${adapter.name}\` is not available on this replica.`, 404, true, {
          status: 503,
          backendId: entry.state.id,
        }),
      );
    }
    const key = `${entry.state.id}\u0000${adapter.name}`;
    let load = this.inFlight.get(key);
    if (!load) {
      load = this.load(entry, adapter, adapter.path).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, load);
    }
    return untilAborted(load, signal);
  }

  private async load(entry: BackendEntry, adapter: AdapterInfo, path: string): Promise<void> {
    const started = this.clock();
    const { metrics } = this.options;
    let outcome: 'loaded' | 'already_loaded' | 'failed' = 'failed';
    try {
      const answer = await this.transport(
        entry.state.url,
        '/v1/load_lora_adapter',
        { lora_name: adapter.name, lora_path: path },
        this.options.loadTimeoutMs,
      );
      if (answer.status === 200) outcome = 'loaded';
      else if (answer.status === 400 && answer.text.includes('has already been loaded')) outcome = 'already_loaded';
      else {
        throw new UpstreamError(
          `The adapter \`${adapter.name}\` could not be loaded: ${errorMessage(answer.text)}`,
          answer.status,
          true,
          {
            status: 503,
            backendId: entry.state.id,
            // The engine's words may carry the adapter's path on the replica: they stay in the logs.
            publicMessage: `The adapter \`${adapter.name}\` could not be loaded (the model server answered ${answer.status}).`,
          },
        );
      }
      this.options.catalog.registeredOn(entry.state).add(adapter.name);
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      throw new UpstreamError(`The adapter \`${adapter.name}\` could not be loaded.`, 502, true, {
        status: 503,
        backendId: entry.state.id,
        cause: error,
        publicMessage: `The adapter \`${adapter.name}\` could not be loaded.`,
      });
    } finally {
      metrics.loads(adapter.name, outcome).inc();
      if (outcome !== 'failed') metrics.loadSeconds.observe((this.clock() - started) / 1000);
    }
  }
}

/** vLLM's 404 for a model it does not serve (the adapter is gone from that replica). */
function isMissingModel(error: SwitchyardError): boolean {
  return error instanceof UpstreamError && error.upstreamStatus === 404;
}

function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown }; detail?: unknown };
    const message = parsed.error?.message ?? parsed.detail;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 200);
}

/** The load keeps going for the others when one waiting client goes away; that client stops waiting. */
function untilAborted(promise: Promise<void>, signal: CancelSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(toSwitchyardError(signal.reason));
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(toSwitchyardError(signal.reason)), { once: true });
    promise.then(resolve, reject);
  });
}
