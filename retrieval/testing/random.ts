// Deterministic pseudo-random numbers for tests and benchmarks (mulberry32), so failures reproduce.
import { seededRandom } from '../../models/random.ts';

export { seededRandom };

/** Unit vectors with a standard-normal direction (Box–Muller). */
export function randomUnitVectors(count: number, dimensions: number, seed: number): Float32Array[] {
  const random = seededRandom(seed);
  const vectors: Float32Array[] = [];
  for (let n = 0; n < count; n += 1) {
    const vector = new Float32Array(dimensions);
    let norm = 0;
    for (let i = 0; i < dimensions; i += 1) {
      const value = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      vector[i] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dimensions; i += 1) vector[i] = (vector[i] as number) / norm;
    vectors.push(vector);
  }
  return vectors;
}
