// The configured picker decides where the router sends a request: sequential requests over HTTP to three idle
// simulator replicas, read back from the x-switchyard-backend header. Short, distinct prompts (under one prefix
// block) so prefix affinity has nothing to hold on to and only the picker (and session affinity, when configured)
// decides.
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../models/random.ts';
import type { RouterConfigInput } from './config/schema.ts';
import { FAST_SCHEDULING, startReplicas, startTestRouter, vllmPool, type TestRouter } from './testing/harness.ts';

const open: TestRouter[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()));
});

async function setup(scheduling: NonNullable<RouterConfigInput['scheduling']>, seed = 1): Promise<TestRouter> {
  const replicas = await startReplicas([
    { model: 'llama-3.1-8b' },
    { model: 'llama-3.1-8b' },
    { model: 'llama-3.1-8b' },
  ]);
  const harness = await startTestRouter(
    {
      pools: [vllmPool('pool', replicas)],
      models: [{ name: 'llama-3.1-8b', route: ['pool'] }],
      scheduling: { ...FAST_SCHEDULING, ...scheduling },
    },
    { random: seededRandom(seed) },
    replicas,
  );
  open.push(harness);
  return harness;
}

/** One request; the backend that served it. */
async function send(harness: TestRouter, index: number, session?: string): Promise<string> {
  const { response } = await harness.client.chat.completions
    .create(
      { model: 'llama-3.1-8b', messages: [{ role: 'user', content: `hi ${index}` }], max_tokens: 1 },
      session === undefined ? {} : { headers: { 'x-session-id': session } },
    )
    .withResponse();
  return response.headers.get('x-switchyard-backend') ?? '';
}

function tally(backends: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const backend of backends) counts[backend] = (counts[backend] ?? 0) + 1;
  return counts;
}

describe('the picker decides in the router', () => {
  it('round-robin spreads nine requests over three idle backends 3/3/3, in turn', async () => {
    const harness = await setup({
      filters: ['healthy', 'serves-model', 'circuit-closed'],
      scorers: [],
      picker: 'round-robin',
    });
    const backends: string[] = [];
    for (let index = 0; index < 9; index++) backends.push(await send(harness, index));
    expect(tally(backends)).toEqual({ 'pool-0': 3, 'pool-1': 3, 'pool-2': 3 });
    expect(backends.slice(0, 3)).toEqual(backends.slice(3, 6));
  });

  it('weighted-random follows its weights (session backend scores 1, the others 0.5: shares 1/2, 1/4, 1/4)', async () => {
    // Sequential requests leave every in-flight counter at 0 (neutral, 1 for all); session affinity gives the last
    // turn's backend 1 and the others 0. Combined: 1 and 0.5, so with sharpness 1 a turn stays with probability 1/2.
    const harness = await setup({
      scorers: [
        { type: 'session-affinity', weight: 1 },
        { type: 'in-flight', weight: 1 },
      ],
      picker: { type: 'weighted-random', sharpness: 1 },
    });
    const backends: string[] = [];
    for (let index = 0; index < 160; index++) backends.push(await send(harness, index, 'conversation'));
    let stayed = 0;
    for (let index = 1; index < backends.length; index++) if (backends[index] === backends[index - 1]) stayed++;
    const stayShare = stayed / (backends.length - 1);
    expect(stayShare).toBeGreaterThan(0.38);
    expect(stayShare).toBeLessThan(0.62);
    // Every backend is the session's at some point, so each gets a fair share overall.
    for (const count of Object.values(tally(backends))) expect(count).toBeGreaterThan(30);
  });

  it('max-score (the default profile) spreads an idle pool instead of sending everything to the first backend', async () => {
    const harness = await setup({});
    const backends: string[] = [];
    for (let index = 0; index < 30; index++) backends.push(await send(harness, index));
    const counts = tally(backends);
    expect(Object.keys(counts).sort()).toEqual(['pool-0', 'pool-1', 'pool-2']);
    for (const count of Object.values(counts)) expect(count).toBeGreaterThanOrEqual(4);
  });

  it('session affinity, when configured, keeps each conversation on one backend', async () => {
    const harness = await setup({
      scorers: [
        { type: 'prefix-affinity', weight: 3 },
        { type: 'predicted-ttft', weight: 3 },
        { type: 'in-flight', weight: 0.5 },
        { type: 'session-affinity', weight: 1 },
      ],
    });
    const bySession = new Map<string, Set<string>>();
    for (let index = 0; index < 24; index++) {
      const session = `user-${index % 4}`;
      const backend = await send(harness, index, session);
      bySession.set(session, (bySession.get(session) ?? new Set()).add(backend));
    }
    for (const backends of bySession.values()) expect(backends.size).toBe(1);
  });
});
