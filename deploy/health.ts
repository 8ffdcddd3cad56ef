// Waiting for a model server to answer `GET /health` with 200 (vLLM answers 503/refuses connections while loading),
// and finding a free loopback port for a new replica.
import { createServer } from 'node:net';

export type HealthProbe = (url: string, timeoutMs: number) => Promise<boolean>;

export const httpHealthProbe: HealthProbe = async (url, timeoutMs) => {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
};

export interface WaitHealthyOptions {
  timeoutMs: number;
  intervalMs?: number;
  probe?: HealthProbe;
  signal?: AbortSignal;
  /** Checked between probes: a replica whose process/container died need not be waited for. */
  isAlive?: () => Promise<boolean> | boolean;
}

export type WaitOutcome = 'healthy' | 'timeout' | 'died' | 'aborted';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitHealthy(url: string, options: WaitHealthyOptions): Promise<WaitOutcome> {
  const probe = options.probe ?? httpHealthProbe;
  const interval = options.intervalMs ?? 100;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted) return 'aborted';
    if (await probe(url, Math.min(2_000, Math.max(100, deadline - Date.now())))) return 'healthy';
    if (options.isAlive && !(await options.isAlive())) return 'died';
    if (Date.now() + interval > deadline) return 'timeout';
    await sleep(interval);
  }
}

/** A port nothing listens on right now (bind port 0, read it, close). Small race by nature; callers retry on clash. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
