// SSE pass-through from the chosen backend to the client, one event at a time (nothing is held back beyond the event
// being written). Usage is always requested upstream and captured; it is stripped again when the client did not ask
// for it. When the upstream breaks after bytes reached the client, the stream either continues on another backend
// (re-issued with the partial answer as an assistant prefix, chunk ids kept) or ends with an OpenAI error event and
// `data: [DONE]` — the client always sees a well-formed end, never a truncated 200.
import type { ServerResponse } from 'node:http';
import { RAW_JSON, type StreamChunk } from '../backends/contracts.ts';
import {
  ClientClosedError,
  NoEligibleBackendError,
  renderError,
  toSwitchyardError,
  type SwitchyardError,
} from '../../core/errors.ts';
import type { RouterMetrics } from '../observability/metrics.ts';
import type { DispatchInput, Dispatcher, Lease } from '../routing/dispatcher.ts';
import type { RelayGovernanceHooks } from '../governance/router-adapter.ts';
import { continueRequest } from '../request/run-request.ts';
import { overheadMs, type RequestTimer } from '../routing/upstream-body.ts';

/** The router's own time from the request's arrival to its first byte (upstream time to first chunk excluded). */
export const HEADER_TTFB_OVERHEAD = 'x-switchyard-ttfb-overhead-ms';

export type MidStreamPolicy = 'continue' | 'error';

export interface StreamStart {
  first: StreamChunk | null;
  rest: AsyncIterator<StreamChunk>;
  lease: Lease;
}

export interface RelayOptions {
  response: ServerResponse;
  /** Sent with the 200 (backend, route reason, overhead...). */
  headers: Readonly<Record<string, string>>;
  start: StreamStart;
  dispatcher: Dispatcher;
  /** The dispatch input of the first attempt, re-used for continuations. */
  input: DispatchInput;
  clientWantsUsage: boolean;
  policy: MidStreamPolicy;
  maxContinuations: number;
  metrics: RouterMetrics;
  /** Output guardrails (bounded hold-back), cost trailer and settle, when governance is on. */
  governance?: RelayGovernanceHooks | undefined;
  /** The request's clock: read when the head goes out with the first event, for HEADER_TTFB_OVERHEAD. */
  timer?: RequestTimer | undefined;
}

export interface RelayOutcome {
  /** Lease of the backend that finished the stream (or the last one tried). */
  lease: Lease;
  usage: Record<string, unknown> | undefined;
  /** 'ok', 'error_event' (ended with an error event), 'client_closed'. */
  ending: 'ok' | 'error_event' | 'client_closed';
  continuations: number;
  /** A plain answer (one choice, no tool calls) that ended well: its id and the text the client saw, for the request log. */
  answer?: StreamedAnswer;
}

export interface StreamedAnswer {
  id: string | undefined;
  text: string;
}

export interface StreamState {
  id: unknown;
  created: unknown;
  text: string;
  /** Content-bearing chunks sent: one token each in vLLM and OpenAI streams. */
  emittedTokens: number;
  sawToolCalls: boolean;
  multipleChoices: boolean;
  usage: Record<string, unknown> | undefined;
  /** Completion tokens of earlier (broken) segments, added to the final usage. */
  priorCompletionTokens: number;
}

const DONE = 'data: [DONE]\n\n';

export async function relayStream(options: RelayOptions): Promise<RelayOutcome> {
  const { response, input } = options;
  const state: StreamState = {
    id: undefined,
    created: undefined,
    text: '',
    emittedTokens: 0,
    sawToolCalls: false,
    multipleChoices: typeof input.body['n'] === 'number' && input.body['n'] > 1,
    usage: undefined,
    priorCompletionTokens: 0,
  };
  const hooks = options.governance;
  const head: Record<string, string> = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...(hooks ? hooks.headers({ ...options.headers }) : options.headers),
  };
  // Last before the head (and the first event with it) is handed to the socket: everything the router did up to its
  // first byte, which is what a client's time to first token pays for.
  if (options.timer) head[HEADER_TTFB_OVERHEAD] = overheadMs(options.timer).toFixed(3);
  response.writeHead(200, head);
  let lease = options.start.lease;
  let pending: StreamChunk | null = options.start.first;
  let iterator = options.start.rest;
  let continuing = false;
  let continuations = 0;
  const failed = new Set<string>();
  // Whatever happens below, the backend slot of the current lease is released (finish is idempotent).
  try {
    const outcome = await relayLoop();
    // The relay keeps the client-visible text anyway (a continuation's prefix): the request log takes it, no copy.
    if (outcome.ending === 'ok' && !state.sawToolCalls && !state.multipleChoices)
      outcome.answer = { id: typeof state.id === 'string' ? state.id : undefined, text: state.text };
    return outcome;
  } finally {
    lease.finish('aborted');
  }

  async function relayLoop(): Promise<RelayOutcome> {
    while (true) {
      try {
        while (true) {
          if (pending) {
            // Governance may hold content back (bounded hold-back window) or rewrite it (redaction) first.
            const visible = hooks ? hooks.transform(pending) : pending;
            const line = visible ? prepareChunk(visible, state, options.clientWantsUsage, continuing) : null;
            pending = null;
            if (line !== null) {
              // Awaited only under backpressure: an await of `true` would still be a microtask hop per event.
              const written = write(response, line);
              if (written === false || (written !== true && !(await written))) throw new ClientClosedError();
            }
            if (hooks?.stop()) {
              // Every choice was blocked by a guardrail: stop generating upstream.
              await iterator.return?.().catch(() => undefined);
              break;
            }
          }
          const next = await iterator.next();
          if (next.done) break;
          pending = next.value;
        }
        lease.finish('success');
        if (state.usage && state.priorCompletionTokens > 0) addPriorTokens(state);
        if (hooks) {
          for (const held of hooks.flush()) {
            const line = prepareChunk(held, state, options.clientWantsUsage, continuing);
            if (line !== null) response.write(line);
          }
          hooks.beforeDone(response, state.usage, { pool: lease.entry.state.pool, backendId: lease.entry.state.id });
        }
        response.end(DONE);
        return { lease, usage: state.usage, ending: 'ok', continuations };
      } catch (error) {
        const typed = toSwitchyardError(input.signal.aborted ? input.signal.reason : error);
        if (response.destroyed || typed.status === 499) {
          lease.finish('aborted');
          await iterator.return?.().catch(() => undefined);
          return { lease, usage: state.usage, ending: 'client_closed', continuations };
        }
        // A deadline of the whole request is not the backend's fault.
        lease.finish(input.signal.aborted ? 'aborted' : typed.retryable ? 'failure' : 'success');
        failed.add(lease.entry.state.id);
        const canContinue =
          options.policy === 'continue' &&
          !input.signal.aborted &&
          continuations < options.maxContinuations &&
          !state.sawToolCalls &&
          !state.multipleChoices &&
          typed.retryable;
        if (canContinue) {
          try {
            const next = await continueRequest(
              options.dispatcher,
              input,
              { prefix: state.text, emittedTokens: state.emittedTokens },
              failed,
            );
            if (!next.streamed) throw new Error('continuation did not stream');
            continuations++;
            hooks?.continued();
            options.metrics.streamFailures.inc({ action: 'continued' });
            state.priorCompletionTokens = state.emittedTokens;
            lease = next.lease;
            pending = next.first;
            iterator = next.rest;
            continuing = true;
            continue;
          } catch (continuationError) {
            // Nowhere to continue: the client learns why the stream broke, not that no backend was left.
            const reported =
              continuationError instanceof NoEligibleBackendError ? typed : toSwitchyardError(continuationError);
            return endWithError(options, lease, state, reported, continuations);
          }
        }
        return endWithError(options, lease, state, typed, continuations);
      }
    }
  }
}

function endWithError(
  options: RelayOptions,
  lease: Lease,
  state: StreamState,
  error: SwitchyardError,
  continuations: number,
): RelayOutcome {
  options.metrics.streamFailures.inc({ action: 'error_event' });
  const { response } = options;
  if (!response.destroyed) {
    response.write(`data: ${JSON.stringify(renderError(error).body)}\n\n`);
    response.end(DONE);
  }
  return { lease, usage: state.usage, ending: 'error_event', continuations };
}

/** Rewrites one upstream chunk for the client; null when it must not be sent (usage the client did not ask for). */
export function prepareChunk(
  chunk: StreamChunk,
  state: StreamState,
  clientWantsUsage: boolean,
  continuing: boolean,
): string | null {
  const choices = Array.isArray(chunk['choices']) ? (chunk['choices'] as Array<Record<string, unknown>>) : [];
  let modified = false;
  if ('usage' in chunk) {
    const usage = chunk['usage'];
    if (usage && typeof usage === 'object') state.usage = usage as Record<string, unknown>;
    if (!clientWantsUsage) {
      if (choices.length === 0) return null;
      delete chunk['usage'];
      modified = true;
    } else if (usage && state.priorCompletionTokens > 0) {
      addPriorTokens(state);
      chunk['usage'] = state.usage;
      modified = true;
    }
  }
  if (state.id === undefined) {
    state.id = chunk['id'];
    state.created = chunk['created'];
  } else if (continuing) {
    chunk['id'] = state.id;
    chunk['created'] = state.created;
    modified = true;
  }
  for (const choice of choices) {
    if (choice['index'] !== undefined && choice['index'] !== 0) state.multipleChoices = true;
    const delta = choice['delta'] as Record<string, unknown> | undefined;
    if (delta) {
      if (Array.isArray(delta['tool_calls']) && delta['tool_calls'].length > 0) state.sawToolCalls = true;
      if (continuing && 'role' in delta) {
        delete delta['role'];
        modified = true;
        if (
          (delta['content'] === '' || delta['content'] === undefined) &&
          !choice['finish_reason'] &&
          !delta['tool_calls']
        ) {
          if (choices.length === 1) return null;
        }
      }
      if (typeof delta['content'] === 'string' && delta['content'] !== '') {
        state.text += delta['content'];
        state.emittedTokens++;
      }
    } else if (typeof choice['text'] === 'string' && choice['text'] !== '') {
      state.text += choice['text'];
      state.emittedTokens++;
    }
  }
  const raw = modified ? undefined : (chunk as Record<symbol, unknown>)[RAW_JSON];
  return `data: ${typeof raw === 'string' ? raw : JSON.stringify(chunk)}\n\n`;
}

function addPriorTokens(state: StreamState): void {
  const usage = state.usage;
  if (!usage || usage['__merged'] === true) return;
  const completion = Number(usage['completion_tokens'] ?? 0) + state.priorCompletionTokens;
  const prompt = Number(usage['prompt_tokens'] ?? 0);
  state.usage = { ...usage, completion_tokens: completion, total_tokens: prompt + completion };
  Object.defineProperty(state.usage, '__merged', { value: true, enumerable: false });
}

/**
 * Writes one SSE event, waiting for drain under backpressure; false when the client went away. Not corked here: Node
 * corks the socket at a response's first write in a tick and uncorks it on the next, so events written in the same
 * tick (they arrived in one upstream read) already leave in one writev.
 */
function write(response: ServerResponse, line: string): Promise<boolean> | boolean {
  if (response.destroyed) return false;
  if (response.write(line)) return true;
  return new Promise((resolve) => {
    const onDrain = (): void => {
      response.off('close', onClose);
      resolve(true);
    };
    const onClose = (): void => {
      response.off('drain', onDrain);
      resolve(false);
    };
    response.once('drain', onDrain);
    response.once('close', onClose);
  });
}
