// The project's one seeded PRNG (mulberry32): deterministic simulator output, workloads, tests and benchmarks, so
// any run can be reproduced from its seed. Returns floats in [0, 1).
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), state | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
