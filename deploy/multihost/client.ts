// The client host of the multi-host test (multihost.netns.test.ts): runs inside its own network namespace and talks
// only to the routers' and simulators' namespace addresses, with the openai SDK. It reads phase files (JSON), one path
// per stdin line, and answers each with one JSON line on stdout (progress lines start with `#`); one process serves
// every phase, so its start-up is paid once. Every loop is bounded by a request count and a deadline.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';

export interface TraceRequest {
  system: string;
  question: string;
  session?: string;
}

interface Common {
  routers: string[];
  key: string;
  model: string;
  deadlineMs: number;
}

export type Phase =
  | (Common & { phase: 'trace'; sims: string[]; trace: TraceRequest[]; concurrency: number })
  | (Common & { phase: 'sessions'; sessions: number; turns: number })
  | (Common & { phase: 'burst'; requests: number })
  | (Common & { phase: 'kill'; requests: number; concurrency: number; announceAfter: number })
  | (Common & { phase: 'retrieve'; index: string; query: string; expectDocument: string; intervalMs: number });

interface SimStats {
  prefixQueryTokens: number;
  prefixHitTokens: number;
  requestsFinished: number;
}

function clientFor(router: string, key: string, timeoutMs = 30_000): OpenAI {
  return new OpenAI({ baseURL: `${router}/v1`, apiKey: key, maxRetries: 0, timeout: timeoutMs });
}

async function simTotals(sims: readonly string[]): Promise<SimStats> {
  const all = await Promise.all(sims.map(async (sim) => (await (await fetch(`${sim}/sim/stats`)).json()) as SimStats));
  return all.reduce((sum, stats) => ({
    prefixQueryTokens: sum.prefixQueryTokens + stats.prefixQueryTokens,
    prefixHitTokens: sum.prefixHitTokens + stats.prefixHitTokens,
    requestsFinished: sum.requestsFinished + stats.requestsFinished,
  }));
}

async function runTrace(phase: Extract<Phase, { phase: 'trace' }>): Promise<object> {
  const before = await simTotals(phase.sims);
  let next = 0;
  let failed = 0;
  const started = Date.now();
  const worker = async (): Promise<void> => {
    while (next < phase.trace.length && Date.now() - started < phase.deadlineMs) {
      const index = next++;
      const item = phase.trace[index]!;
      const client = clientFor(phase.routers[index % phase.routers.length]!, phase.key);
      try {
        await client.chat.completions.create({
          model: phase.model,
          messages: [
            { role: 'system', content: item.system },
            { role: 'user', content: item.question },
          ],
          max_tokens: 8,
        });
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: phase.concurrency }, worker));
  const after = await simTotals(phase.sims);
  const queried = after.prefixQueryTokens - before.prefixQueryTokens;
  return {
    requests: next,
    failed,
    served: after.requestsFinished - before.requestsFinished,
    hitRate: queried === 0 ? 0 : (after.prefixHitTokens - before.prefixHitTokens) / queried,
  };
}

/** Each turn of a session enters through the next router; the router names the replica it used. */
async function runSessions(phase: Extract<Phase, { phase: 'sessions' }>): Promise<object> {
  const replicas: Record<string, string[]> = {};
  const entered: Record<string, string[]> = {};
  for (let session = 0; session < phase.sessions; session++) {
    const id = `conversation-${session}`;
    const history: { role: 'user' | 'assistant'; content: string }[] = [];
    for (let turn = 0; turn < phase.turns; turn++) {
      const router = phase.routers[(session + turn) % phase.routers.length]!;
      history.push({ role: 'user', content: `Turn ${turn} of ${id}: tell me more.` });
      const { data, response } = await clientFor(router, phase.key)
        .chat.completions.create(
          { model: phase.model, messages: history, max_tokens: 6 },
          { headers: { 'x-session-id': id } },
        )
        .withResponse();
      history.push({ role: 'assistant', content: data.choices[0]?.message.content ?? '' });
      (replicas[id] ??= []).push(response.headers.get('x-switchyard-backend') ?? '?');
      (entered[id] ??= []).push(router);
    }
  }
  return { replicas, entered };
}

/** Every request at once, spread over the routers: how many each status got, and the cost the routers charged. */
async function runBurst(phase: Extract<Phase, { phase: 'burst' }>): Promise<object> {
  const statuses: Record<string, number> = {};
  let chargedUsd = 0;
  let reservedUsd = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: phase.requests }, async (_, index) => {
      const client = clientFor(phase.routers[index % phase.routers.length]!, phase.key);
      try {
        const { response } = await client.chat.completions
          .create({
            model: phase.model,
            messages: [{ role: 'user', content: `burst request ${index}` }],
            max_tokens: 16,
          })
          .withResponse();
        chargedUsd += Number(response.headers.get('x-switchyard-cost-usd') ?? 0);
        reservedUsd = Math.max(reservedUsd, Number(response.headers.get('x-switchyard-cost-reserved-usd') ?? 0));
        statuses['200'] = (statuses['200'] ?? 0) + 1;
      } catch (error) {
        const status =
          error instanceof OpenAI.APIError ? `${error.status ?? 'network'}:${error.code ?? ''}` : 'network';
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  return { statuses, chargedUsd, reservedUsd, elapsedMs: Date.now() - started };
}

/**
 * Closed-loop load over all routers; a request that fails on a connection error is retried on the next router (what
 * a client behind a load balancer sees). Prints `# load-started` after `announceAfter` answers so the test can kill a
 * router while requests are in flight on it.
 */
/** Every `code` and message along the error's cause chain (fetch wraps the socket error twice). */
function causeCodes(error: unknown): string {
  const parts: string[] = [];
  for (
    let current: unknown = error, depth = 0;
    current instanceof Error && depth < 5;
    current = current.cause, depth++
  ) {
    parts.push(String((current as { code?: unknown }).code ?? ''), current.message);
  }
  return parts.join(' ');
}

async function runKill(phase: Extract<Phase, { phase: 'kill' }>): Promise<object> {
  let next = 0;
  let ok = 0;
  let announced = false;
  const lostInFlight: Record<string, number> = {};
  const refused: Record<string, number> = {};
  const otherErrors: string[] = [];
  const started = Date.now();
  const worker = async (): Promise<void> => {
    while (next < phase.requests && Date.now() - started < phase.deadlineMs) {
      const index = next++;
      for (let attempt = 0; attempt < phase.routers.length; attempt++) {
        const router = phase.routers[(index + attempt) % phase.routers.length]!;
        try {
          await clientFor(router, phase.key).chat.completions.create({
            model: phase.model,
            messages: [{ role: 'user', content: `load ${index}` }],
            max_tokens: 40,
          });
          ok++;
          break;
        } catch (error) {
          const cause = causeCodes(error);
          if (!(error instanceof OpenAI.APIConnectionError)) {
            otherErrors.push(`${router}: ${(error as Error).message}`);
            break;
          }
          // Refused: the router was already gone before the request was sent; anything else: lost mid-flight.
          if (/ECONNREFUSED/.test(cause)) refused[router] = (refused[router] ?? 0) + 1;
          else lostInFlight[router] = (lostInFlight[router] ?? 0) + 1;
        }
      }
      if (!announced && ok >= phase.announceAfter) {
        announced = true;
        console.log('# load-started');
      }
    }
  };
  await Promise.all(Array.from({ length: phase.concurrency }, worker));
  return { requests: next, ok, lostInFlight, refused, otherErrors };
}

/**
 * Queries every router until each returns `expectDocument` for `query` (a snapshot the writer publishes meanwhile);
 * prints `# retrieve-started` after the first round. Any non-200 answer counts as a failure.
 */
async function runRetrieve(phase: Extract<Phase, { phase: 'retrieve' }>): Promise<object> {
  const seenAt: Record<string, number> = {};
  const failures: string[] = [];
  let queries = 0;
  let maxLatencyMs = 0;
  let firstRound = 0;
  const started = Date.now();
  await Promise.all(
    phase.routers.map(async (router) => {
      while (Date.now() - started < phase.deadlineMs) {
        const sent = performance.now();
        try {
          const response = await fetch(`${router}/v1/retrieve`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${phase.key}` },
            body: JSON.stringify({ index: phase.index, query: phase.query, mode: 'lexical', top_k: 5 }),
            signal: AbortSignal.timeout(10_000),
          });
          const body = (await response.json()) as { data?: { document_id: string }[] };
          queries++;
          maxLatencyMs = Math.max(maxLatencyMs, performance.now() - sent);
          if (response.status !== 200)
            failures.push(`${router}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
          else if ((body.data ?? []).some((hit) => hit.document_id === phase.expectDocument)) {
            seenAt[router] = Date.now();
            return;
          }
        } catch (error) {
          failures.push(`${router}: ${(error as Error).message}`);
        }
        if (++firstRound === phase.routers.length) console.log('# retrieve-started');
        await new Promise((resolve) => setTimeout(resolve, phase.intervalMs));
      }
    }),
  );
  return { seenAt, failures, queries, maxLatencyMs };
}

async function runPhase(phase: Phase): Promise<object> {
  if (phase.phase === 'retrieve') return runRetrieve(phase);
  if (phase.phase === 'trace') return runTrace(phase);
  if (phase.phase === 'sessions') return runSessions(phase);
  if (phase.phase === 'burst') return runBurst(phase);
  return runKill(phase);
}

console.log('# client ready');
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  try {
    console.log(JSON.stringify(await runPhase(JSON.parse(readFileSync(line.trim(), 'utf8')) as Phase)));
  } catch (error) {
    console.log(JSON.stringify({ error: (error as Error).message }));
  }
}
