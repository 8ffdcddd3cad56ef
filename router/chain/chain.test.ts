// The verified chain through the real router on the embedded default (simulated pools, offline retrieval), with the
// official openai SDK as the client. The simulator is scripted per step through `vllm_xargs.sim_response` (the
// answer via the request's own body, the verifier via `chain.verify.extra_body`), so the verifier's verdict is
// decided by the test: supported → verified; unsupported → regenerated and re-verified, or flagged.
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimVerdict } from './claims.ts';
import { scripted, startChainFixture, type ChainFixture } from '../testing/chain-fixture.ts';
import type { Verification } from './verify.ts';
import type { StepRecord } from './steps.ts';

const ANSWER = 'ERR_CONN_REFUSED_443 means the TCP connection to port 443 was refused [1].';
const BETTER = 'The connection to port 443 was refused by the server [1].';
const SUPPORTED = JSON.stringify({ verdicts: [{ verdict: 'supported', reason: 'source [1] says so' }] });
const UNSUPPORTED = JSON.stringify({
  verdicts: [{ verdict: 'unsupported', reason: 'source [1] does not mention it' }],
});

type Chained = OpenAI.Chat.ChatCompletion & {
  verification: Verification | null;
  citations: { sources: Array<{ marker: string }> };
  chain: { steps: StepRecord[]; prompts: Record<string, string>; cost_usd: number; ms: number };
};

const exporter = new InMemorySpanExporter();
let fixture: ChainFixture;

beforeAll(async () => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  fixture = await startChainFixture();
}, 120_000);

afterAll(async () => {
  await fixture?.close();
  trace.disable();
});

function chatBody(extra: Record<string, unknown>): OpenAI.Chat.ChatCompletionCreateParamsNonStreaming {
  return {
    model: 'llama-3.1-70b',
    messages: [{ role: 'user', content: 'What does ERR_CONN_REFUSED_443 mean?' }],
    ...extra,
  } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
}

async function chained(extra: Record<string, unknown>): Promise<{ data: Chained; headers: Headers }> {
  const { data, response } = await fixture.client.chat.completions.create(chatBody(extra)).withResponse();
  return { data: data as Chained, headers: response.headers };
}

describe('chain (non-streamed)', () => {
  it('a supported answer is verified: steps timed and costed, prompts from the registry, citations, header', async () => {
    const { data, headers } = await chained({
      ...scripted(ANSWER),
      chain: { index: 'docs', verify: { extra_body: scripted(SUPPORTED) } },
    });
    expect(data.choices[0]?.message.content).toBe(ANSWER);
    expect(data.verification).toMatchObject({
      status: 'verified',
      regenerated: false,
      supported: 1,
      total: 1,
      attempts: 1,
      repaired: false,
      verifier_model: 'llama-3.1-8b',
    });
    expect(data.verification?.claims).toEqual([
      expect.objectContaining({ claim: 1, markers: ['[1]'], verdict: 'supported' }),
    ]);
    expect(headers.get('x-switchyard-verification')).toBe('verified; supported=1/1');
    expect(headers.get('x-switchyard-chain')).toBe('analyze,retrieve,answer,verify');
    expect(data.chain.steps.map((step) => step.step)).toEqual(['analyze', 'retrieve', 'answer', 'verify']);
    expect(data.chain.prompts).toEqual({
      analyze: 'chain-analyze@1',
      answer: 'chain-answer@2',
      verify: 'chain-verify@1',
    });
    const byStep = Object.fromEntries(data.chain.steps.map((step) => [step.step, step]));
    expect(byStep['analyze']?.model).toBe('llama-3.1-8b');
    expect(byStep['answer']?.model).toBe('llama-3.1-70b');
    expect(byStep['verify']?.model).toBe('llama-3.1-8b');
    for (const step of data.chain.steps) {
      expect(step.status).toBe('ok');
      expect(step.ms).toBeGreaterThan(0);
    }
    // Self-hosted pools are costed by GPU time held: every model step costs something, retrieval nothing.
    expect(byStep['answer']?.cost_usd).toBeGreaterThan(0);
    expect(byStep['retrieve']?.cost_usd).toBe(0);
    expect(data.chain.cost_usd).toBeCloseTo(
      data.chain.steps.reduce((sum, step) => sum + step.cost_usd, 0),
      8,
    );
    expect(data.usage?.prompt_tokens).toBe(data.chain.steps.reduce((sum, step) => sum + step.prompt_tokens, 0));
    expect(data.citations.sources.length).toBeGreaterThan(0);
  });

  it('an unsupported claim is regenerated once with the findings, re-verified, and flagged if still unsupported', async () => {
    const { data, headers } = await chained({
      ...scripted(ANSWER),
      chain: { index: 'docs', verify: { extra_body: scripted(UNSUPPORTED) } },
    });
    expect(data.chain.steps.map((step) => step.step)).toEqual([
      'analyze',
      'retrieve',
      'answer',
      'verify',
      'regenerate',
      'verify',
    ]);
    expect(data.chain.prompts['regenerate']).toBe('chain-regenerate@1');
    expect(data.verification).toMatchObject({ status: 'flagged', regenerated: true, supported: 0, total: 1 });
    expect(data.verification?.first_answer?.text).toBe(ANSWER);
    expect(data.verification?.first_answer?.claims[0]?.verdict).toBe('unsupported');
    expect(headers.get('x-switchyard-verification')).toBe('flagged; supported=0/1; regenerated');
  });

  it('the regenerated answer is the one returned', async () => {
    const { data } = await chained({
      ...scripted(ANSWER),
      chain: {
        index: 'docs',
        verify: { extra_body: scripted(UNSUPPORTED) },
        regenerate: { extra_body: scripted(BETTER) },
      },
    });
    expect(data.choices[0]?.message.content).toBe(BETTER);
    expect(data.verification?.claims[0]?.text).toBe(BETTER);
  });

  it('on_fail: flag returns the first answer flagged, without regenerating', async () => {
    const { data, headers } = await chained({
      ...scripted(ANSWER),
      chain: { index: 'docs', on_fail: 'flag', verify: { extra_body: scripted(UNSUPPORTED) } },
    });
    expect(data.chain.steps.map((step) => step.step)).toEqual(['analyze', 'retrieve', 'answer', 'verify']);
    expect(data.verification).toMatchObject({ status: 'flagged', regenerated: false });
    expect(headers.get('x-switchyard-verification')).toBe('flagged; supported=0/1');
  });

  it('verifier output in a code fence is repaired; output that never validates is retried a bounded number of times', async () => {
    const fenced = await chained({
      ...scripted(ANSWER),
      chain: {
        index: 'docs',
        verify: { extra_body: scripted(`Sure!\n\`\`\`json\n${SUPPORTED.replace('}]}', '},]}')}\n\`\`\``) },
      },
    });
    expect(fenced.data.verification).toMatchObject({ status: 'verified', repaired: true, attempts: 1 });

    const before = await metricValue('switchyard_chain_verifier_retries_total', 'reason="not_json"');
    const broken = await chained({
      ...scripted(ANSWER),
      chain: { index: 'docs', on_fail: 'flag', verify: { max_attempts: 3, extra_body: scripted('looks fine to me') } },
    });
    expect(broken.data.verification).toMatchObject({ status: 'flagged', attempts: 3 });
    expect(broken.data.verification?.error).toMatch(/invalid after 3 attempt\(s\): the output is not valid JSON/);
    expect(broken.data.chain.steps.filter((step) => step.step === 'verify').map((step) => step.attempt)).toEqual([
      1, 2, 3,
    ]);
    expect(await metricValue('switchyard_chain_verifier_retries_total', 'reason="not_json"')).toBe(before + 3);
  });

  it('claims without a citation or citing a missing source are decided without the verifier', async () => {
    const { data } = await chained({
      ...scripted('Port 443 was refused. See also [9].'),
      chain: { index: 'docs', on_fail: 'flag' },
    });
    expect(data.chain.steps.map((step) => step.step)).toEqual(['analyze', 'retrieve', 'answer']);
    const verdicts = data.verification?.claims.map((claim: ClaimVerdict) => claim.verdict);
    expect(verdicts).toEqual(['uncited', 'unknown_source']);
    expect(data.verification?.status).toBe('flagged');
  });

  it('HyDE adds a step; analyze can be turned off', async () => {
    const { data } = await chained({
      ...scripted(ANSWER),
      chain: { index: 'docs', analyze: false, hyde: true, verify: { extra_body: scripted(SUPPORTED) } },
    });
    expect(data.chain.steps.map((step) => step.step)).toEqual(['hyde', 'retrieve', 'answer', 'verify']);
    expect(data.chain.prompts['hyde']).toBe('chain-hyde@1');
  });

  it('bad chain options are 400s naming the parameter; an unknown index is a 404', async () => {
    const invalid = await fixture.client.chat.completions
      .create(chatBody({ chain: { on_fail: 'maybe' } }))
      .catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
    expect((invalid as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('chain.on_fail');
    const typo = await fixture.client.chat.completions
      .create(chatBody({ chain: { indx: 'docs' } }))
      .catch((error: unknown) => error);
    expect(typo).toBeInstanceOf(OpenAI.BadRequestError);
    const missing = await fixture.client.chat.completions
      .create(chatBody({ chain: { index: 'nowhere' } }))
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('index_not_found');
    const many = await fixture.client.chat.completions
      .create(chatBody({ n: 2, chain: true }))
      .catch((error: unknown) => error);
    expect((many as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
    const legacy = await fixture.client.completions
      .create({ model: 'small', prompt: 'Hi', chain: true } as OpenAI.Completions.CompletionCreateParamsNonStreaming)
      .catch((error: unknown) => error);
    expect(legacy).toBeInstanceOf(OpenAI.BadRequestError);
    expect((legacy as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('chain');
  });

  it('each step is traced under one chain span, logged, and counted on /metrics', async () => {
    exporter.reset();
    const { data } = await chained({
      ...scripted(ANSWER),
      chain: { index: 'docs', verify: { extra_body: scripted(SUPPORTED) } },
    });
    const spans = exporter.getFinishedSpans();
    const root = spans.find((span) => span.name === 'chain');
    expect(root?.attributes['switchyard.verification']).toBe('verified');
    const children = spans
      .filter((span) => span.parentSpanContext?.spanId === root?.spanContext().spanId)
      .map((span) => span.name);
    expect(children).toEqual(['chain.analyze', 'chain.retrieve', 'chain.answer', 'chain.verify']);
    const lines = fixture.logLines.filter((line) => line['requestId'] === data.id || line['msg'] === 'chain_step');
    expect(
      lines.some(
        (line) => line['msg'] === 'chain_step' && line['step'] === 'verify' && line['prompt'] === 'chain-verify@1',
      ),
    ).toBe(true);
    const metrics = await (await fetch(`${fixture.router.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_chain_step_duration_seconds_count\{step="answer",model="llama-3\.1-70b"\} \d+/);
    expect(metrics).toMatch(/switchyard_chain_verifications_total\{model="llama-3\.1-70b",outcome="verified"\} \d+/);
    expect(metrics).toMatch(
      /switchyard_prompt_version_requests_total\{prompt="chain-answer",version="2",via="latest"\} \d+/,
    );
    expect(metrics).toMatch(/switchyard_prompt_version_cost_usd_total\{prompt="chain-answer",version="2"\} [\d.e-]+/);
  });
});

describe('chain (streamed)', () => {
  async function collect(
    extra: Record<string, unknown>,
  ): Promise<{ text: string; chunks: Array<Record<string, unknown>>; headers: Headers }> {
    const { data: stream, response } = await fixture.client.chat.completions
      .create({ ...chatBody(extra), stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const chunks: Array<Record<string, unknown>> = [];
    let text = '';
    for await (const chunk of stream) {
      chunks.push(chunk as unknown as Record<string, unknown>);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    return { text, chunks, headers: response.headers };
  }

  it('on_fail flag: the answer streams live, the verification arrives in one chunk right before [DONE]', async () => {
    const { text, chunks, headers } = await collect({
      ...scripted(ANSWER),
      chain: { index: 'docs', on_fail: 'flag', verify: { extra_body: scripted(SUPPORTED) } },
    });
    expect(text).toBe(ANSWER);
    expect(headers.get('x-switchyard-verification')).toBe('trailing');
    expect(chunks.filter((chunk) => (chunk['choices'] as unknown[]).length > 0).length).toBeGreaterThan(3);
    const last = chunks.at(-1) as {
      choices: unknown[];
      verification: Verification;
      chain: { steps: StepRecord[] };
      citations: unknown;
    };
    expect(last.choices).toEqual([]);
    expect(last.verification).toMatchObject({ status: 'verified', supported: 1, total: 1 });
    expect(last.chain.steps.map((step) => step.step)).toEqual(['analyze', 'retrieve', 'answer', 'verify']);
    expect(last.citations).toBeDefined();
    const usage = chunks.at(-2) as { usage: { prompt_tokens: number } };
    expect(usage.usage.prompt_tokens).toBe(last.chain.steps.reduce((sum, step) => sum + step.prompt_tokens, 0));
  });

  it('on_fail regenerate: the regenerated answer is what streams, and the trailing verification says so', async () => {
    const { text, chunks } = await collect({
      ...scripted(ANSWER),
      chain: {
        index: 'docs',
        verify: { extra_body: scripted(UNSUPPORTED) },
        regenerate: { extra_body: scripted(BETTER) },
      },
    });
    expect(text).toBe(BETTER);
    const last = chunks.at(-1) as { verification: Verification; chain: { steps: StepRecord[] } };
    expect(last.verification).toMatchObject({ status: 'flagged', regenerated: true });
    expect(last.verification.first_answer?.text).toBe(ANSWER);
    expect(last.chain.steps.map((step) => step.step)).toEqual([
      'analyze',
      'retrieve',
      'answer',
      'verify',
      'regenerate',
      'verify',
    ]);
  });

  it('a verified first answer is replayed as a stream (nothing is streamed that is later replaced)', async () => {
    const { text, chunks } = await collect({
      ...scripted(ANSWER),
      chain: { index: 'docs', verify: { extra_body: scripted(SUPPORTED) } },
    });
    expect(text).toBe(ANSWER);
    expect((chunks.at(-1) as { verification: Verification }).verification.status).toBe('verified');
  });
});

describe('per-model chain default', () => {
  it('a model with `chain` in its config chains every request unless it sends chain: false', async () => {
    const own = await startChainFixture((config) => {
      const large = config.models?.find((model) => model.name === 'llama-3.1-70b');
      if (large) large.chain = { index: 'docs', onFail: 'flag' };
    });
    try {
      const body = chatBody(scripted(ANSWER));
      const { data, response } = await own.client.chat.completions.create(body).withResponse();
      expect(response.headers.get('x-switchyard-chain')).toBe('analyze,retrieve,answer,verify');
      expect((data as Chained).verification?.status).toBe('verified');
      const plain = await own.client.chat.completions
        .create({ ...body, chain: false } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
        .withResponse();
      expect(plain.response.headers.get('x-switchyard-chain')).toBeNull();
      expect((plain.data as Partial<Chained>).verification).toBeUndefined();
      expect(plain.data.choices[0]?.message.content).toBe(ANSWER);
    } finally {
      await own.close();
    }
  }, 120_000);
});

async function metricValue(name: string, labelPart: string): Promise<number> {
  const text = await (await fetch(`${fixture.router.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(labelPart)) total += Number(line.split(' ').at(-1));
  }
  return total;
}
