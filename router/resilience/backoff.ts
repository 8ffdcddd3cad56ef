// openai-node's retry timing: wait what the server asked for (retry-after-ms, then retry-after), else exponential
// backoff from initialDelayMs doubling per retry, capped at maxDelayMs, minus up to 25 % jitter.
import type { RetryConfig } from '../config/schema.ts';
import type { CancelSignal } from './cancellation.ts';

export function backoffDelayMs(retryNumber: number, config: RetryConfig, random: () => number = Math.random): number {
  const base = Math.min(config.initialDelayMs * 2 ** Math.max(0, retryNumber - 1), config.maxDelayMs);
  return base * (1 - random() * 0.25);
}

/** The delay before retrying the same backend, or null when its retry-after is longer than we are willing to wait. */
export function retryDelayMs(
  retryNumber: number,
  retryAfterMs: number | null,
  config: RetryConfig,
  random: () => number = Math.random,
): number | null {
  if (retryAfterMs !== null) return retryAfterMs <= config.maxRetryAfterMs ? retryAfterMs : null;
  return backoffDelayMs(retryNumber, config, random);
}

/** Sleeps, but wakes up (rejecting with the abort reason) as soon as `signal` aborts. */
export function sleep(milliseconds: number, signal: CancelSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  if (milliseconds <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
