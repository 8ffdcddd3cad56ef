// The verified chain of one chat request: analyze (classify, rewrite, expand; HyDE optional) → retrieve (the
// router's retrieval index) → answer (numbered citations) → verify (each claim against the sources it cites, by a
// smaller model) → regenerate once with the verifier's findings, or flag. Every step's prompt comes from the prompt
// store (active version, A/B split, sticky per user/session). The answer carries `citations`, `verification` and
// `chain` (per-step model, prompt version, time, tokens, cost); streams get them as one chunk before `data: [DONE]`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ChatCompletionRequest, parseBody } from '../../core/openai-schemas.ts';
import type { ModelRouteConfig, RouterConfig } from '../config/schema.ts';
import { InvalidRequestError } from '../../core/errors.ts';
import type { Governance } from '../governance/governance.ts';
import type { admitGeneration } from '../governance/router-adapter.ts';
import { prepareRetrievalChat, type PreparedRagChat, type RetrievalChat } from '../rag/chat.ts';
import type { RouterRuntime } from '../runtime/runtime.ts';
import { findingsText } from './claims.ts';
import type { ModelChainConfig } from '../config/chain.ts';
import { ChainRequest, ChainRequestObject, type ChainPlan, type StepPlan } from './request.ts';
import type { ChainMetrics } from './metrics.ts';
import type { PromptStore, RenderedStepPrompt } from './prompt-store.ts';
import type { RequestLog } from './request-log.ts';
import { respondJson, respondStream, type FinalAnswer } from './respond.ts';
import { answerText, callModel, StepRun, type ChainCallContext } from './steps.ts';
import { verifyAnswer, type Verification } from './verify.ts';

export type Admission = Awaited<ReturnType<typeof admitGeneration>>;

export interface ChainDeps {
  runtime: RouterRuntime;
  store: PromptStore;
  retrieval: RetrievalChat | undefined;
  logger: Logger;
  tracer: Tracer;
  metrics: ChainMetrics;
  requestLog: RequestLog | undefined;
  logBodies: boolean;
}

export interface ChainServeArgs {
  request: IncomingMessage;
  response: ServerResponse;
  body: Record<string, unknown>;
  plan: ChainPlan;
  requestId: string;
  startedAt: number;
  governance: Governance | undefined;
  admission: Admission;
}

function modelConfig(config: RouterConfig, name: unknown): ModelRouteConfig | undefined {
  if (typeof name !== 'string') return undefined;
  return config.models.find((model) => model.name === name || model.aliases.includes(name));
}

function chainDefaults(model: ModelRouteConfig | undefined): ModelChainConfig | undefined {
  return model?.chain;
}

/** The chain this request runs, or undefined (no `chain`, `chain: false`, or no enabled model default). */
export function resolveChainPlan(config: RouterConfig, body: unknown): ChainPlan | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  const model = modelConfig(config, record['model']);
  const defaults = chainDefaults(model);
  if (!('chain' in record) && defaults?.enabled !== true) return undefined;
  const raw = record['chain'] ?? true;
  // Objects are parsed by the object schema alone, so an error names the field (`chain.on_fail`), not the union.
  const parsed =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw)
      ? ChainRequestObject.safeParse(raw)
      : ChainRequest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = ['chain', ...(issue?.path ?? [])].join('.');
    throw new InvalidRequestError(`Invalid value for '${path}': ${issue?.message ?? 'invalid'}.`, {
      param: path,
      code: 'invalid_value',
    });
  }
  const request = parsed.data;
  if (request === false) return undefined;
  const options = request === true ? {} : request;
  const smallest = config.auto?.tiers[0];
  const verifierModel =
    defaults?.verifierModel ?? smallest ?? (typeof record['model'] === 'string' ? record['model'] : undefined);
  const analyzeModel = defaults?.analyzeModel ?? verifierModel;
  const step = (
    value: boolean | { model?: string | undefined; extra_body?: Record<string, unknown> | undefined } | undefined,
    enabled: boolean,
    fallback: string | undefined,
  ): StepPlan => {
    if (value === false) return { enabled: false, model: fallback, extraBody: {} };
    if (value === true || value === undefined)
      return { enabled: value === true || enabled, model: fallback, extraBody: {} };
    return { enabled: true, model: value.model ?? fallback, extraBody: value.extra_body ?? {} };
  };
  const verify = options.verify;
  return {
    index: options.index ?? defaults?.index ?? 'default',
    topK: options.top_k ?? defaults?.topK ?? 5,
    mode: options.mode,
    analyze: step(options.analyze, defaults?.analyze ?? true, analyzeModel),
    hyde: step(options.hyde, defaults?.hyde ?? false, analyzeModel),
    verify: {
      ...step(verify, defaults?.verify ?? true, verifierModel),
      maxAttempts: (typeof verify === 'object' ? verify.max_attempts : undefined) ?? defaults?.maxVerifyAttempts ?? 2,
    },
    regenerate: step(options.regenerate, true, undefined),
    onFail: options.on_fail ?? defaults?.onFail ?? 'regenerate',
  };
}

const AnalyzeOutput = z.object({
  category: z.string().min(1).max(40),
  rewritten_query: z.string().min(1).max(2000),
  expansions: z.array(z.string().max(500)).max(5).default([]),
});
type AnalyzeOutput = z.infer<typeof AnalyzeOutput>;

const ANALYZE_SCHEMA = {
  type: 'object',
  properties: {
    category: { type: 'string', enum: ['factual', 'how_to', 'troubleshooting', 'comparison', 'other'] },
    rewritten_query: { type: 'string', minLength: 1, maxLength: 300 },
    expansions: { type: 'array', maxItems: 3, items: { type: 'string', maxLength: 120 } },
  },
  required: ['category', 'rewritten_query', 'expansions'],
  additionalProperties: false,
};

function lastUserText(messages: ChatCompletionRequest['messages']): string {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]!;
    if (message.role !== 'user') continue;
    const content = message.content as unknown;
    if (typeof content === 'string') return content;
    if (Array.isArray(content)) {
      return content
        .map((part) => (typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
        .join(' ');
    }
  }
  return '';
}

export interface ChainOutcome {
  answer: FinalAnswer;
  verification: Verification | null;
  prepared: PreparedRagChat;
  prompts: Record<string, string>;
}

/** Runs the chain for one request and writes the response (JSON or SSE). */
export async function serveChain(deps: ChainDeps, args: ChainServeArgs): Promise<void> {
  const { body, plan } = args;
  const { chain: _chain, ...userBody } = body;
  const validated = parseBody(ChatCompletionRequest, userBody);
  if (typeof validated.n === 'number' && validated.n > 1) {
    throw new InvalidRequestError("'chain' supports one choice per request (n = 1).", {
      param: 'n',
      code: 'unsupported_parameter',
    });
  }
  const question = lastUserText(validated.messages);
  if (question.trim().length === 0) {
    throw new InvalidRequestError("'chain' needs a user message with text.", {
      param: 'messages',
      code: 'invalid_value',
    });
  }
  if (deps.retrieval === undefined) await prepareRetrievalChat(undefined, 'chat', { rag: {} });
  const sessionHeader = args.request.headers['x-session-id'];
  const sessionKey = typeof sessionHeader === 'string' ? sessionHeader : (validated.user ?? undefined);
  const parent = deps.tracer.startSpan('chain', {
    attributes: { 'switchyard.request_id': args.requestId, 'gen_ai.request.model': validated.model },
  });
  const context: ChainCallContext = {
    runtime: deps.runtime,
    requestId: args.requestId,
    response: args.response,
    logger: deps.logger,
    tracer: deps.tracer,
    parent,
    metrics: deps.metrics,
    steps: [],
    sessionKey,
  };
  const prompts: Record<string, string> = {};
  const used = (step: string, prompt: RenderedStepPrompt): RenderedStepPrompt => {
    prompts[step] = `${prompt.name}@${prompt.version}`;
    return prompt;
  };
  try {
    // analyze: advisory — output that does not validate falls back to the question as it is.
    let analysis: AnalyzeOutput = { category: 'other', rewritten_query: question, expansions: [] };
    if (plan.analyze.enabled) {
      const prompt = used('analyze', deps.store.render('chain-analyze', { question }, sessionKey));
      const { body: analyzed } = await callModel(context, {
        step: 'analyze',
        model: plan.analyze.model ?? validated.model,
        prompt,
        body: {
          messages: prompt.messages,
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'query_analysis', strict: true, schema: ANALYZE_SCHEMA },
          },
          ...prompt.defaults,
          ...plan.analyze.extraBody,
        },
      });
      const parsed = AnalyzeOutput.safeParse(safeJson(answerText(analyzed)));
      if (parsed.success) analysis = parsed.data;
      else deps.logger.warn({ requestId: args.requestId }, 'chain_analyze_invalid_output');
    }
    let hypothetical = '';
    if (plan.hyde.enabled) {
      const prompt = used('hyde', deps.store.render('chain-hyde', { question }, sessionKey));
      const { body: hyde } = await callModel(context, {
        step: 'hyde',
        model: plan.hyde.model ?? validated.model,
        prompt,
        body: { messages: prompt.messages, ...prompt.defaults, ...plan.hyde.extraBody },
      });
      hypothetical = answerText(hyde);
    }

    // retrieve: the question, the rewrite and its expansions (and the HyDE passage) as one query.
    const query = [...new Set([question, analysis.rewritten_query, ...analysis.expansions, hypothetical])]
      .filter((part) => part.trim())
      .join('\n');
    const answerPrompt = used('answer', deps.store.render('chain-answer', { category: analysis.category }, sessionKey));
    const retrieveRun = new StepRun(context, 'retrieve', undefined);
    let prepared: PreparedRagChat;
    try {
      prepared = (await prepareRetrievalChat(deps.retrieval, 'chat', {
        ...userBody,
        messages: [...answerPrompt.messages, ...(userBody['messages'] as unknown[])],
        rag: { index: plan.index, top_k: plan.topK, query, ...(plan.mode ? { mode: plan.mode } : {}) },
      }))!;
      retrieveRun.end({});
    } catch (error) {
      retrieveRun.end({ error });
      throw error;
    }
    const sources = prepared.sources ?? [];
    const answerBody = { ...prepared.body, ...answerDefaults(answerPrompt, userBody) };
    const outcome: ChainOutcome = { answer: { kind: 'pending' }, verification: null, prepared, prompts };
    const verify = async (answer: string): Promise<Verification | null> => {
      if (!plan.verify.enabled) return null;
      const verifierModel = plan.verify.model ?? validated.model;
      const verification = await verifyAnswer(context, deps.store, {
        question,
        answer,
        sources,
        plan: plan.verify,
        model: verifierModel,
      });
      if (verification.prompt) prompts['verify'] = verification.prompt;
      return verification;
    };
    const regenerateCall = (
      answer: string,
      verification: Verification,
    ): { body: Record<string, unknown>; prompt: RenderedStepPrompt } => {
      const prompt = used(
        'regenerate',
        deps.store.render('chain-regenerate', { findings: findingsText(verification.claims) }, sessionKey),
      );
      const messages = [
        ...(answerBody['messages'] as unknown[]),
        { role: 'assistant', content: answer },
        ...prompt.messages,
      ];
      return { body: { ...answerBody, messages, ...plan.regenerate.extraBody }, prompt };
    };
    const answerModel = validated.model;
    const regenerateModel = plan.regenerate.model ?? answerModel;
    const finish = { deps, args, context, outcome, parent };
    const wantsStream = validated.stream === true;
    const streamFirst = wantsStream && (!plan.verify.enabled || plan.onFail === 'flag');
    if (streamFirst) {
      await respondStream(
        finish,
        { step: 'answer', model: answerModel, body: answerBody, prompt: answerPrompt },
        verify,
      );
      return;
    }
    const first = await callModel(context, {
      step: 'answer',
      model: answerModel,
      prompt: answerPrompt,
      body: answerBody,
    });
    const firstText = answerText(first.body);
    const firstVerification = await verify(firstText);
    const mustRegenerate =
      firstVerification !== null && firstVerification.status === 'flagged' && plan.onFail === 'regenerate';
    if (!mustRegenerate) {
      outcome.answer = { kind: 'buffered', body: first.body, lease: first.lease };
      outcome.verification = firstVerification;
      if (wantsStream) await respondStream(finish, undefined, async () => firstVerification);
      else await respondJson(finish);
      return;
    }
    const firstAnswer = { text: firstText, claims: firstVerification.claims };
    const regenerated = regenerateCall(firstText, firstVerification);
    const markRegenerated = (verification: Verification | null): Verification | null =>
      verification === null ? null : { ...verification, regenerated: true, first_answer: firstAnswer };
    if (wantsStream) {
      await respondStream(finish, { step: 'regenerate', model: regenerateModel, ...regenerated }, async (text) =>
        markRegenerated(await verify(text)),
      );
      return;
    }
    const second = await callModel(context, { step: 'regenerate', model: regenerateModel, ...regenerated });
    outcome.answer = { kind: 'buffered', body: second.body, lease: second.lease };
    outcome.verification = markRegenerated(await verify(answerText(second.body)));
    await respondJson(finish);
  } finally {
    parent.end();
  }
}

/** The answer prompt's defaults apply where the caller set none. */
function answerDefaults(prompt: RenderedStepPrompt, body: Record<string, unknown>): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  if (body['temperature'] === undefined && prompt.defaults.temperature !== undefined)
    defaults['temperature'] = prompt.defaults.temperature;
  if (
    body['max_tokens'] === undefined &&
    body['max_completion_tokens'] === undefined &&
    prompt.defaults.max_tokens !== undefined
  ) {
    defaults['max_tokens'] = prompt.defaults.max_tokens;
  }
  return defaults;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
