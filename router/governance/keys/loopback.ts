// `governance.keys.loopbackKey`: the key a request without a known key is served and billed as when it comes from
// this machine. It keeps the embedded default's demo open to local clients while still attributing every request to a key
// (spend, limits, dashboard); a request from any other address needs its own key.
import type { KeyRecord, KeyStore } from './store.ts';

/** True for 127.0.0.0/8 and ::1, also in their IPv4-mapped IPv6 forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** Looks the named key up in the store, re-read after `cacheMs` so a disable or a re-created key lands. */
export class LoopbackKey {
  private record: KeyRecord | undefined;
  private until = 0;

  constructor(
    private readonly store: KeyStore,
    private readonly name: string,
    private readonly cacheMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The enabled key with that name (the newest when several share it), or undefined. */
  get(): KeyRecord | undefined {
    const now = this.clock();
    if (now >= this.until) {
      this.record = this.store
        .list()
        .filter((record) => record.name === this.name && !record.disabled)
        .at(-1);
      this.until = now + this.cacheMs;
    }
    return this.record;
  }
}
