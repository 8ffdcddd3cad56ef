// What a plugin factory receives besides its own config: injected time and randomness, profile-wide knobs, and
// state that several plugins of one scheduler share.
import type { PrefixBlockIndex } from './scorers/prefix-affinity/index.ts';

export interface PluginContext {
  /** Wall clock in ms (session TTLs). */
  clock: () => number;
  /** Uniform [0,1) source for randomized pickers. */
  random: () => number;
  /** Bound of the prefix LRU (entries = block hashes); also bounds session-affinity entries. */
  prefixLruSize: number;
  /** Tokens per prefix block. */
  prefixBlockTokens: number;
  /** The scheduler's one block-hash → backends index, shared by prefix-affinity and prefill-work. */
  prefixIndex(): PrefixBlockIndex;
}
