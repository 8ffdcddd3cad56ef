// From an HTTP request to a prepared generation: validation (vLLM's checks and messages), prompt tokens under the
// simulator tokenizer, and the exact output plan. Everything here throws SimError for bad input.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SimError } from './errors.ts';
import { type OutputPlan, type OutputRequest, type ResponseMode, planOutput } from './output.ts';
import {
  ChatCompletionRequest,
  CompletionRequest,
  type FunctionTool,
  messageText,
  parseBody,
  stopList,
} from './protocol.ts';
import { SPECIAL, chatPromptTokens, encode, hashString } from './tokenizer.ts';

export interface PrepareContext {
  /** Names a request may use as `model`; the first is the default. */
  modelNames: readonly string[];
  maxModelLen: number;
  responseMode: ResponseMode;
  scriptedText: string | undefined;
}

export interface PreparedGeneration {
  kind: 'chat' | 'completion';
  id: string;
  created: number;
  model: string;
  promptTokens: number[];
  maxTokens: number;
  plan: OutputPlan;
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
  /** Completions with `echo: true`: the prompt text returned before the output. */
  echoPrefix?: string;
  toolCallId?: string;
  /** Requested log-probabilities: how many alternatives per token (0 = only the chosen token). */
  logprobs?: { top: number; seed: number };
  /** Opt-in (`x-sim-timings: 1`): SSE comment lines carrying simulated timestamps, for benchmarks. */
  simTimings?: boolean;
  /** The LoRA adapter named by `model` (set by the server when the name is a registered adapter). */
  lora?: string;
}

export function hexId(): string {
  return randomUUID().replaceAll('-', '');
}

function resolveModel(requested: string | null | undefined, context: PrepareContext): string {
  const fallback = context.modelNames[0] ?? 'model';
  if (requested === null || requested === undefined || requested === '') return fallback;
  if (!context.modelNames.includes(requested)) {
    throw new SimError('not_found', `The model \`${requested}\` does not exist.`, { param: 'model' });
  }
  return requested;
}

/** vLLM's context checks, with its current wording. Returns the effective max_tokens. */
function checkContext(promptLength: number, maxTokens: number | undefined, maxModelLen: number): number {
  if (promptLength >= maxModelLen) {
    throw new SimError(
      'context_length',
      `This model's maximum context length is ${maxModelLen} tokens. However, your request has ${promptLength} input tokens. Please reduce the length of the input messages.`,
      { param: 'messages' },
    );
  }
  if (maxTokens === undefined) return maxModelLen - promptLength;
  if (promptLength + maxTokens > maxModelLen) {
    throw new SimError(
      'context_length',
      `'max_tokens' or 'max_completion_tokens' is too large: ${maxTokens}. This model's maximum context length is ${maxModelLen} tokens and your request has ${promptLength} input tokens (${maxTokens} > ${maxModelLen} - ${promptLength}).`,
      { param: 'max_tokens' },
    );
  }
  return maxTokens;
}

/**
 * The answer text requested by header (`x-sim-response`, `x-sim-mode`), by body (`vllm_xargs.sim_response`: vLLM's
 * own field for extension arguments, so a script survives a router that forwards bodies but not headers) or config.
 */
function responseSource(
  headers: IncomingHttpHeaders,
  context: PrepareContext,
  body?: unknown,
): { mode: ResponseMode; text?: string } {
  const xargs = typeof body === 'object' && body !== null ? (body as { vllm_xargs?: unknown }).vllm_xargs : undefined;
  const bodyScript =
    typeof xargs === 'object' && xargs !== null ? (xargs as { sim_response?: unknown }).sim_response : undefined;
  if (typeof bodyScript === 'string') return { mode: 'script', text: bodyScript };
  const scripted = headers['x-sim-response'];
  if (typeof scripted === 'string') {
    try {
      return { mode: 'script', text: decodeURIComponent(scripted) };
    } catch {
      throw new SimError('bad_request', 'x-sim-response must be percent-encoded text');
    }
  }
  const mode = headers['x-sim-mode'];
  if (mode === 'echo' || mode === 'generate') return { mode };
  if (mode === 'script') return { mode, text: context.scriptedText ?? '' };
  if (mode !== undefined)
    throw new SimError('bad_request', `x-sim-mode must be echo, script or generate, got "${String(mode)}"`);
  return context.responseMode === 'script'
    ? { mode: 'script', text: context.scriptedText ?? '' }
    : { mode: context.responseMode };
}

function checkStreamOptions(stream: boolean | null | undefined, streamOptions: unknown): void {
  if (streamOptions !== null && streamOptions !== undefined && stream !== true) {
    throw new SimError('bad_request', 'Stream options can only be defined when `stream=True`.', {
      param: 'stream_options',
    });
  }
}

function checkN(n: number | null | undefined): void {
  if (n !== null && n !== undefined && n !== 1) {
    throw new SimError('bad_request', 'The simulator supports only n=1.', { param: 'n' });
  }
}

function chooseTool(
  tools: readonly FunctionTool[] | null | undefined,
  choice: ChatCompletionRequest['tool_choice'],
): OutputRequest['tool'] {
  if (!choice || choice === 'none' || choice === 'auto') return undefined;
  if (!tools || tools.length === 0) {
    throw new SimError('bad_request', 'When using `tool_choice`, `tools` must be set.', { param: 'tool_choice' });
  }
  if (choice === 'required') {
    const first = tools[0];
    if (!first) return undefined;
    return { name: first.function.name, parameters: first.function.parameters ?? {}, finishReason: 'tool_calls' };
  }
  const named = tools.find((tool) => tool.function.name === choice.function.name);
  if (!named) {
    throw new SimError('bad_request', `Tool '${choice.function.name}' has not been passed in \`tools\`.`, {
      param: 'tool_choice',
    });
  }
  return { name: named.function.name, parameters: named.function.parameters ?? {}, finishReason: 'stop' };
}

/** `tool_choice: auto` (or unset) with `x-sim-tool-call: <name>`: the model "decides" to call that tool. */
function autoToolCall(request: ChatCompletionRequest, headers: IncomingHttpHeaders): OutputRequest['tool'] {
  const name = headers['x-sim-tool-call'];
  if (typeof name !== 'string' || request.tool_choice === 'none') return undefined;
  const tool = request.tools?.find((candidate) => candidate.function.name === name);
  if (!tool)
    throw new SimError('bad_request', `x-sim-tool-call: no tool named '${name}' in \`tools\`.`, { param: 'tools' });
  return { name: tool.function.name, parameters: tool.function.parameters ?? {}, finishReason: 'tool_calls' };
}

export function prepareChat(body: unknown, headers: IncomingHttpHeaders, context: PrepareContext): PreparedGeneration {
  const request = parseBody(ChatCompletionRequest, body, 'ChatCompletionRequest');
  const model = resolveModel(request.model, context);
  checkN(request.n);
  checkStreamOptions(request.stream, request.stream_options);
  const messages = request.messages.map((message) => ({ role: message.role, content: messageText(message) }));
  const useTools = request.tools && request.tools.length > 0 && request.tool_choice !== 'none';
  const promptTokens = chatPromptTokens(messages, useTools ? JSON.stringify(request.tools) : undefined);
  const requestedMax = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const maxTokens = checkContext(promptTokens.length, requestedMax, context.maxModelLen);
  const source = responseSource(headers, context, body);
  const lastUser = [...request.messages].reverse().find((message) => message.role === 'user');
  const outputRequest: OutputRequest = {
    seed: hashString(`${model}\u0000${JSON.stringify(request.messages)}\u0000${request.seed ?? ''}`),
    maxTokens,
    mode: source.mode,
    stop: stopList(request.stop),
  };
  if (source.mode === 'echo') outputRequest.text = lastUser ? messageText(lastUser) : '';
  else if (source.text !== undefined) outputRequest.text = source.text;
  if (request.ignore_eos) outputRequest.ignoreEos = true;
  if (typeof request.min_tokens === 'number') outputRequest.minTokens = request.min_tokens;
  const tool = chooseTool(request.tools, request.tool_choice) ?? autoToolCall(request, headers);
  if (tool) outputRequest.tool = tool;
  const format = request.response_format;
  if (!tool && format && format.type !== 'text' && source.mode === 'generate') {
    outputRequest.json =
      format.type === 'json_schema' ? { kind: 'schema', schema: format.json_schema?.schema ?? {} } : { kind: 'object' };
  }
  const prepared: PreparedGeneration = {
    kind: 'chat',
    id: `chatcmpl-${hexId()}`,
    created: Math.floor(Date.now() / 1000),
    model,
    promptTokens,
    maxTokens,
    plan: planOutput(outputRequest),
    stream: request.stream === true,
    includeUsage: request.stream_options?.include_usage === true,
    continuousUsage: request.stream_options?.continuous_usage_stats === true,
  };
  if (tool) prepared.toolCallId = `chatcmpl-tool-${hexId()}`;
  if (request.logprobs === true) prepared.logprobs = { top: request.top_logprobs ?? 0, seed: outputRequest.seed };
  else if (typeof request.top_logprobs === 'number' && request.top_logprobs > 0) {
    throw new SimError('bad_request', 'when using `top_logprobs`, `logprobs` must be set to true.', {
      param: 'top_logprobs',
    });
  }
  return prepared;
}

export function prepareCompletion(
  body: unknown,
  headers: IncomingHttpHeaders,
  context: PrepareContext,
): PreparedGeneration {
  const request = parseBody(CompletionRequest, body, 'CompletionRequest');
  const model = resolveModel(request.model, context);
  checkN(request.n);
  checkStreamOptions(request.stream, request.stream_options);
  const { promptText, promptTokens } = completionPrompt(request.prompt);
  // OpenAI's completions API (and vLLM's) default to 16 tokens.
  const maxTokens = checkContext(promptTokens.length, request.max_tokens ?? 16, context.maxModelLen);
  const source = responseSource(headers, context, body);
  const outputRequest: OutputRequest = {
    seed: hashString(`${model}\u0000${JSON.stringify(request.prompt)}\u0000${request.seed ?? ''}`),
    maxTokens,
    mode: source.mode,
    stop: stopList(request.stop),
  };
  if (source.mode === 'echo') outputRequest.text = promptText ?? '';
  else if (source.text !== undefined) outputRequest.text = source.text;
  if (request.ignore_eos) outputRequest.ignoreEos = true;
  if (typeof request.min_tokens === 'number') outputRequest.minTokens = request.min_tokens;
  const prepared: PreparedGeneration = {
    kind: 'completion',
    id: `cmpl-${hexId()}`,
    created: Math.floor(Date.now() / 1000),
    model,
    promptTokens,
    maxTokens,
    plan: planOutput(outputRequest),
    stream: request.stream === true,
    includeUsage: request.stream_options?.include_usage === true,
    continuousUsage: request.stream_options?.continuous_usage_stats === true,
  };
  if (request.echo === true && promptText !== undefined) prepared.echoPrefix = promptText;
  if (typeof request.logprobs === 'number') prepared.logprobs = { top: request.logprobs, seed: outputRequest.seed };
  return prepared;
}

/** One prompt: a string, a one-element string list, a token-id list or a one-element list of token-id lists. */
function completionPrompt(prompt: CompletionRequest['prompt']): {
  promptText: string | undefined;
  promptTokens: number[];
} {
  if (typeof prompt === 'string') return { promptText: prompt, promptTokens: [SPECIAL.beginOfText, ...encode(prompt)] };
  const first = prompt[0];
  if (typeof first === 'number') return { promptText: undefined, promptTokens: prompt as number[] };
  if (prompt.length !== 1 || first === undefined) {
    throw new SimError('bad_request', 'The simulator supports one prompt per request.', { param: 'prompt' });
  }
  if (typeof first === 'string') return { promptText: first, promptTokens: [SPECIAL.beginOfText, ...encode(first)] };
  return { promptText: undefined, promptTokens: [...first] };
}
