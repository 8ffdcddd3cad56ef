// The chat-extension hook of /v1/chat/completions: `rag` ({index, top_k, filters, mode, query}) and `few_shot`
// ({bank, k}) are applied before validation and routing (retrieval/http/rag.ts rewrites the messages), and the
// citations go back with the answer:
//   - non-stream: a top-level `citations` field of the chat.completion object;
//   - stream: one extra chunk right before `data: [DONE]`, shaped like the usage chunk
//     (`{id, object: 'chat.completion.chunk', created, model, choices: [], citations}`), so SDKs iterate over it.
// Only `import type` from retrieval/ here: this file is loaded with every router, retrieval's models are not.
import type { ServerResponse } from 'node:http';
import type { StreamChunk } from '../backends/contracts.ts';
import { InvalidRequestError } from '../../core/errors.ts';
import type { RelayGovernanceHooks } from '../governance/router-adapter.ts';

/** What the client gets back under `citations`. */
export interface CitationsPayload {
  index: string | null;
  /** The retrieval mode actually used (e.g. `lexical` when the vector side was unavailable). */
  mode: string | null;
  warnings: string[];
  /** `[n]` → chunk, in marker order. */
  sources: unknown[];
  /** Each `[n]` of the answer: `ok`, `unknown_source` or `unsupported`. */
  checks: unknown[];
  valid: boolean;
  /** Ids of the few-shot examples put into the prompt. */
  few_shot: string[];
}

export interface PreparedRagChat {
  /** The body to validate and route: messages rewritten, `rag` / `few_shot` removed. */
  body: Record<string, unknown>;
  citations(answer: string | null): CitationsPayload;
  /** The numbered sources put into the prompt (marker and text), for checks that read them (router/chain). */
  sources?: ReadonlyArray<{ marker: string; text: string }>;
}

/** Implemented by the mounted retrieval service (mount.ts). */
export interface RetrievalChat {
  prepare(body: unknown): Promise<PreparedRagChat>;
}

/** True when the body uses the `rag` or `few_shot` extension. */
export function usesRetrievalExtensions(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && ('rag' in body || 'few_shot' in body);
}

/**
 * Called by the generation route before validation: undefined when the request uses no extension (the body is
 * used as it is), else the rewritten body and the citations to return. Bad shapes → 400, unknown index/bank → 404.
 */
export async function prepareRetrievalChat(
  retrieval: RetrievalChat | undefined,
  endpoint: string,
  body: unknown,
): Promise<PreparedRagChat | undefined> {
  if (!usesRetrievalExtensions(body)) return undefined;
  const param = 'rag' in body ? 'rag' : 'few_shot';
  if (endpoint !== 'chat') {
    throw new InvalidRequestError(`'${param}' is only supported on /v1/chat/completions.`, {
      param,
      code: 'unsupported_parameter',
    });
  }
  if (retrieval === undefined) {
    throw new InvalidRequestError(
      `'${param}' needs retrieval, which is not enabled on this router (config section \`retrieval\`).`,
      {
        param,
        code: 'retrieval_disabled',
      },
    );
  }
  return retrieval.prepare(body);
}

/** Non-streamed answer: adds the top-level `citations` field (checked against the first choice's text). */
export function attachCitations(body: Record<string, unknown>, prepared: PreparedRagChat | undefined): void {
  if (prepared === undefined) return;
  body['citations'] = prepared.citations(answerText(body));
}

function answerText(body: Record<string, unknown>): string | null {
  const choices = Array.isArray(body['choices']) ? (body['choices'] as Array<Record<string, unknown>>) : [];
  const message = choices[0]?.['message'] as Record<string, unknown> | undefined;
  return typeof message?.['content'] === 'string' ? message['content'] : null;
}

const PASS_THROUGH: RelayGovernanceHooks = {
  headers: (base) => base,
  transform: (chunk) => chunk,
  stop: () => false,
  flush: () => [],
  continued: () => undefined,
  beforeDone: () => undefined,
  finalize: async () => undefined,
};

/**
 * Streamed answer: wraps the relay hooks (governance's, or pass-through ones) to see the text the client received
 * and write the citations chunk right before `data: [DONE]`. A stream that ends with an error event carries none.
 */
export function withCitationTrailer(
  inner: RelayGovernanceHooks | undefined,
  prepared: PreparedRagChat | undefined,
): RelayGovernanceHooks | undefined {
  if (prepared === undefined) return inner;
  const base = inner ?? PASS_THROUGH;
  const seen: { id: unknown; created: unknown; model: unknown; text: string } = {
    id: undefined,
    created: undefined,
    model: undefined,
    text: '',
  };
  const observe = (chunk: StreamChunk): void => {
    seen.id ??= chunk['id'];
    seen.created ??= chunk['created'];
    seen.model ??= chunk['model'];
    const choices = Array.isArray(chunk['choices']) ? (chunk['choices'] as Array<Record<string, unknown>>) : [];
    const first = choices.find((choice) => (choice['index'] ?? 0) === 0);
    const delta = first?.['delta'] as Record<string, unknown> | undefined;
    if (typeof delta?.['content'] === 'string') seen.text += delta['content'];
  };
  return {
    headers: (headers) => base.headers(headers),
    transform(chunk) {
      const visible = base.transform(chunk);
      if (visible) observe(visible);
      return visible;
    },
    stop: () => base.stop(),
    flush() {
      const held = base.flush();
      for (const chunk of held) observe(chunk);
      return held;
    },
    continued: () => base.continued(),
    beforeDone(response: ServerResponse, usage, served) {
      const trailer = {
        id: seen.id,
        object: 'chat.completion.chunk',
        created: seen.created,
        model: seen.model,
        choices: [],
        citations: prepared.citations(seen.text),
      };
      response.write(`data: ${JSON.stringify(trailer)}\n\n`);
      base.beforeDone(response, usage, served);
    },
    finalize: (usage, served, ending) => base.finalize(usage, served, ending),
  };
}
