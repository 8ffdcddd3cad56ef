// The routing-quality workload (benchmarks/routing-quality.ts): one seeded, skewed arrival trace — shared system
// prompts with Zipf popularity, long unique documents, mostly short answers with a heavy tail — under open-loop
// Poisson arrivals, and the summary both modes (virtual time, real HTTP) print for each run.
import { pseudoText } from '../models/sim/index.ts';
import { seededRandom } from '../models/random.ts';

export interface WorkloadOptions {
  requests: number;
  /** Requests per (simulated) second. */
  rate: number;
  seed: number;
  /** Distinct shared system prompts (1–3K tokens each, Zipf popularity): the prefix working set. */
  systemPrompts: number;
  /**
   * Multi-turn conversations: each chat request continues an open conversation (same system prompt, earlier turns
   * repeated, `x-session-id` = the conversation) with this probability, else starts one. 0 = single-turn chat.
   */
  continueProbability: number;
}

export type Message = { role: 'system' | 'user' | 'assistant'; content: string };

export interface WorkItem {
  /** Simulated ms after the start. */
  arrivalMs: number;
  messages: Message[];
  maxTokens: number;
  kind: 'shared-prefix' | 'long-document';
  /** The conversation, for session affinity (multi-turn workloads only). */
  sessionKey?: string;
}

interface Conversation {
  key: string;
  messages: Message[];
}

/** The seeded workload: the same requests, in the same order, for every profile at a given rate. */
export function buildWorkload(options: WorkloadOptions): WorkItem[] {
  const random = seededRandom(options.seed);
  const systemPrompts = Array.from({ length: options.systemPrompts }, (_, index) => {
    const tokens = 1_000 + Math.floor(random() * 2_000);
    return pseudoText(10_000 + index, tokens);
  });
  const popularity = systemPrompts.map((_, index) => 1 / (index + 1)); // Zipf
  const popularityTotal = popularity.reduce((sum, weight) => sum + weight, 0);
  const pickSystem = (): number => {
    let target = random() * popularityTotal;
    for (let index = 0; index < popularity.length; index++) {
      target -= popularity[index]!;
      if (target < 0) return index;
    }
    return popularity.length - 1;
  };
  // A separate stream for the conversation choices, so single-turn traces stay byte-identical across versions.
  const sessionRandom = seededRandom(options.seed * 7_919 + 1);
  const open: Conversation[] = [];
  const items: WorkItem[] = [];
  let clock = 0;
  for (let index = 0; index < options.requests; index++) {
    clock += (-Math.log(1 - random()) / options.rate) * 1_000;
    const longDocument = random() < 0.2;
    const maxTokens = random() < 0.8 ? 20 + Math.floor(random() * 130) : 300 + Math.floor(random() * 500);
    if (longDocument) {
      const tokens = 2_000 + Math.floor(random() * 4_000);
      items.push({
        arrivalMs: clock,
        messages: [{ role: 'user', content: pseudoText(1_000_000 + index, tokens) }],
        maxTokens,
        kind: 'long-document',
      });
      continue;
    }
    const system = systemPrompts[pickSystem()]!;
    const userTokens = 20 + Math.floor(random() * 180);
    const user: Message = { role: 'user', content: pseudoText(2_000_000 + index, userTokens) };
    if (options.continueProbability > 0 && open.length > 0 && sessionRandom() < options.continueProbability) {
      const conversation = open[Math.floor(sessionRandom() * open.length)]!;
      // The previous answer (its length as asked) joins the history, then the new question.
      const answerTokens = 20 + Math.floor(sessionRandom() * 130);
      conversation.messages.push({ role: 'assistant', content: pseudoText(3_000_000 + index, answerTokens) }, user);
      items.push({
        arrivalMs: clock,
        messages: [...conversation.messages],
        maxTokens,
        kind: 'shared-prefix',
        sessionKey: conversation.key,
      });
      continue;
    }
    const messages: Message[] = [{ role: 'system', content: system }, user];
    if (options.continueProbability > 0) {
      const conversation = { key: `conversation-${index}`, messages: [...messages] };
      open.push(conversation);
      if (open.length > 64) open.shift();
      items.push({ arrivalMs: clock, messages, maxTokens, kind: 'shared-prefix', sessionKey: conversation.key });
    } else {
      items.push({ arrivalMs: clock, messages, maxTokens, kind: 'shared-prefix' });
    }
  }
  return items;
}

export interface Outcome {
  ok: boolean;
  /** ms from arrival to the first output token. */
  ttftMs: number;
  /** Largest gap between two consecutive output tokens, ms (NaN when not measured). */
  itlMaxMs: number;
  /** Inter-token gaps of this request, ms (HTTP mode). */
  itlMs?: number[];
  finishedAtMs: number;
  item: WorkItem;
  backend: string;
  /** The router's route reasons (e.g. primary,queued). */
  route: string;
}

export interface RunSummary {
  profile: string;
  rate: number;
  completed: number;
  failed: number;
  queued: number;
  ttftP50: number;
  ttftP99: number;
  ttftP99Shared: number;
  ttftP99Long: number;
  itlP99: number;
  throughputTokensPerSecond: number;
  prefixHitRate: number;
  preemptions: number;
  perReplica: Record<string, number>;
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))]!;
}

export function summarize(
  profile: string,
  rate: number,
  outcomes: readonly Outcome[],
  requests: number,
  startedAtMs: number,
  cache: { queries: number; hits: number; preemptions: number },
): RunSummary {
  const good = outcomes.filter((outcome) => outcome.ok);
  const ttfts = (kind?: WorkItem['kind']) =>
    good.filter((outcome) => kind === undefined || outcome.item.kind === kind).map((outcome) => outcome.ttftMs);
  const perReplica: Record<string, number> = {};
  for (const outcome of good) perReplica[outcome.backend] = (perReplica[outcome.backend] ?? 0) + 1;
  const lastDone = Math.max(startedAtMs, ...good.map((outcome) => outcome.finishedAtMs));
  const gaps = good.flatMap((outcome) => outcome.itlMs ?? []);
  return {
    profile,
    rate,
    completed: good.length,
    failed: requests - good.length,
    queued: good.filter((outcome) => outcome.route.includes('queued')).length,
    ttftP50: percentile(ttfts(), 0.5),
    ttftP99: percentile(ttfts(), 0.99),
    ttftP99Shared: percentile(ttfts('shared-prefix'), 0.99),
    ttftP99Long: percentile(ttfts('long-document'), 0.99),
    itlP99: percentile(gaps, 0.99),
    throughputTokensPerSecond:
      good.reduce((sum, outcome) => sum + outcome.item.maxTokens, 0) / ((lastDone - startedAtMs) / 1_000),
    prefixHitRate: cache.queries > 0 ? cache.hits / cache.queries : 0,
    preemptions: cache.preemptions,
    perReplica,
  };
}
