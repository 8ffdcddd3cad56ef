// Prefix-cache hit rate with 1 vs 3 router replicas on the same trace, for learned affinity (the default profile's
// `prefix-affinity`, per router process) and for `consistent-hash-affinity` (every router computes the same owner).
// Real routers (startRouter, HTTP on loopback) in front of the same 4 simulated vLLM replicas; requests go to the
// routers as a load balancer would spread them. Each run salts the prompts, so every run starts from a cold prefix cache.
//
//   npx tsx benchmarks/multi-router-affinity.ts [--prompts 12] [--questions 8] [--concurrency 4]
//
// Prints hit rates per (profile, routers) and the 3-router/1-router ratio of each profile; the baseline is learned
// affinity measured in the same run.
import OpenAI from 'openai';
import { startSimReplica, type SimReplica } from '../models/sim/index.ts';
import { validateConfig } from '../router/config/load.ts';
import { startRouter, type RunningRouter } from '../router/server.ts';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const PROMPTS = argument('prompts', 12);
const QUESTIONS = argument('questions', 8);
const CONCURRENCY = argument('concurrency', 4);
const WORDS = ['routing', 'replica', 'cache', 'token', 'prefix', 'budget', 'limit', 'session', 'kernel', 'batch'];

const PROFILES = {
  'learned prefix-affinity (default)': undefined,
  'consistent-hash-affinity': {
    scorers: [
      { type: 'consistent-hash-affinity', weight: 3 },
      { type: 'predicted-ttft', weight: 3 },
      { type: 'in-flight', weight: 0.5 },
    ],
  },
} as const;

function trace(salt: string): { system: string; question: string }[] {
  const systems = Array.from(
    { length: PROMPTS },
    (_, prompt) =>
      `[${salt}] You are assistant number ${prompt}. ` +
      Array.from({ length: 1_200 }, (_, index) => WORDS[(index * (prompt + 3)) % WORDS.length]).join(' '),
  );
  const items: { system: string; question: string }[] = [];
  for (let question = 0; question < QUESTIONS; question++) {
    for (let prompt = 0; prompt < PROMPTS; prompt++)
      items.push({ system: systems[prompt]!, question: `Question ${question} for assistant ${prompt}?` });
  }
  return items;
}

async function totals(sims: readonly SimReplica[]): Promise<{ queried: number; hit: number }> {
  const stats = await Promise.all(sims.map((sim) => sim.stats()));
  return stats.reduce(
    (sum, entry) => ({ queried: sum.queried + entry.prefixQueryTokens, hit: sum.hit + entry.prefixHitTokens }),
    { queried: 0, hit: 0 },
  );
}

async function run(
  sims: readonly SimReplica[],
  scheduling: object | undefined,
  routerCount: number,
  salt: string,
): Promise<number> {
  const config = validateConfig(
    {
      server: { host: '127.0.0.1', port: 0 },
      pools: [
        {
          name: 'sim',
          kind: 'vllm',
          model: 'llama-3.1-8b',
          gpu: 'h100',
          backends: sims.map((sim) => ({ id: `sim/127.0.0.1:${sim.port}`, url: sim.url })),
        },
      ],
      models: [{ name: 'llama-3.1-8b', route: ['sim'] }],
      scheduling: { ...(scheduling ?? {}), staleAfterMs: 5_000 },
    },
    'multi-router-affinity',
    {},
  );
  const routers: RunningRouter[] = [];
  for (let index = 0; index < routerCount; index++)
    routers.push(await startRouter(config, { port: 0, processMetrics: false }));
  try {
    const clients = routers.map(
      (router) => new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 }),
    );
    const items = trace(salt);
    const before = await totals(sims);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const index = next++;
        const item = items[index]!;
        // A load balancer's choice, uncorrelated with the trace order (index % 3 would pin a prompt to one router
        // whenever the number of prompts is a multiple of 3).
        await clients[(Math.imul(index + 1, 2_654_435_761) >>> 0) % clients.length]!.chat.completions.create({
          model: 'llama-3.1-8b',
          messages: [
            { role: 'system', content: item.system },
            { role: 'user', content: item.question },
          ],
          max_tokens: 8,
        });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const after = await totals(sims);
    return (after.hit - before.hit) / Math.max(1, after.queried - before.queried);
  } finally {
    await Promise.all(routers.map((router) => router.close()));
  }
}

async function main(): Promise<void> {
  const sims = await Promise.all(
    Array.from({ length: 4 }, () => startSimReplica({ model: 'llama-3.1-8b', gpu: 'h100', speed: 4 })),
  );
  try {
    console.log(
      `4 simulated Llama 3.1 8B replicas (H100, 4× speed); trace: ${PROMPTS} system prompts × ${QUESTIONS} questions, concurrency ${CONCURRENCY}`,
    );
    console.log('| profile | 1 router | 3 routers | 3 / 1 |');
    console.log('| --- | --- | --- | --- |');
    let run_ = 0;
    for (const [name, scheduling] of Object.entries(PROFILES)) {
      const one = await run(sims, scheduling, 1, `run-${run_++}`);
      const three = await run(sims, scheduling, 3, `run-${run_++}`);
      console.log(
        `| ${name} | ${(one * 100).toFixed(1)} % | ${(three * 100).toFixed(1)} % | ${(three / one).toFixed(2)}× |`,
      );
    }
  } finally {
    await Promise.all(sims.map((sim) => sim.close()));
  }
}

await main();
