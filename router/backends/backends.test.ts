// Both ChatBackend implementations run the same conformance suite against simulator replicas.
import { createHostedBackend } from './hosted.ts';
import { createVllmBackend } from './vllm.ts';
import { describeChatBackendConformance } from './conformance.ts';

describeChatBackendConformance({
  name: 'vllm (undici)',
  replica: { model: 'llama-3.1-8b', gpu: 'h100' },
  model: 'llama-3.1-8b',
  create: (url, headers) => createVllmBackend({ id: 'vllm', url, connectTimeoutMs: 1_000, headers }),
});

describeChatBackendConformance({
  name: 'hosted (openai SDK)',
  replica: { model: 'gpt-4o-mini', profile: 'hosted', hosted: { ttftMs: 5, msPerToken: 1, models: ['gpt-4o-mini'] } },
  model: 'gpt-4o-mini',
  create: (url, headers) => createHostedBackend({ id: 'hosted', baseURL: `${url}/v1`, apiKey: 'test', headers }),
});
