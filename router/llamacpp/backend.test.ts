// The ChatBackend conformance suite against a real llama.cpp llama-server (the tiny random-weight model), through
// the `llamacpp` backend kind. The binary comes from the engine cache (`npx switchyard engine build llamacpp`).
import { describe } from 'vitest';
import { createVllmBackend } from '../backends/vllm.ts';
import { describeChatBackendConformance } from '../backends/conformance.ts';
import { llamaServerForTests, startLlamaCppReplicas } from '../../deploy/engines/llamacpp/testing.ts';

const install = llamaServerForTests();

describe.skipIf(!install)('llama-server backend', () => {
  describeChatBackendConformance({
    name: 'llamacpp (real llama-server)',
    model: 'tiny-llama',
    start: async () => {
      const replicas = await startLlamaCppReplicas(1, { parallel: 2, ctxSize: 1024 });
      return { url: replicas.urls[0]!, close: replicas.close };
    },
    create: (url, headers) =>
      createVllmBackend({ id: 'llamacpp', url, connectTimeoutMs: 1_000, headers, kind: 'llamacpp' }),
    // Random weights may sample end-of-text at once; the usage assertions need exactly max_tokens.
    extraBody: { ignore_eos: true },
    // llama-server answers any model name; what it rejects as the caller's fault is a prompt beyond a slot's context.
    clientError: {
      body: { model: 'tiny-llama', messages: [{ role: 'user', content: 'lighthouse '.repeat(1_000) }], max_tokens: 4 },
      status: 400,
    },
  });
});
