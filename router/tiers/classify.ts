// A fast complexity classifier for model `auto`: a handful of cheap text features → logistic score in [0,1] →
// tier index via the configured thresholds. Budget: well under 0.1 ms per request, so only the last user message
// is scanned in full (capped), the rest of the conversation contributes its length and turn count.
import type { FeatureName, TierConfig } from './config.ts';
import { DEFAULT_TIER_CONFIG, DEFAULT_WEIGHTS, FEATURE_NAMES } from './config.ts';

export interface ComplexityMessage {
  role: string;
  content?: string | null | ReadonlyArray<{ type: string; text?: string }>;
}

/** An OpenAI chat or completion body (only the fields the classifier reads), or plain text. */
export interface ComplexityRequest {
  messages?: readonly ComplexityMessage[];
  prompt?: string | readonly string[];
  text?: string;
  tools?: readonly unknown[] | null;
  response_format?: { type?: string } | null;
}

export type ComplexityFeatures = Record<FeatureName, number>;

export interface ComplexityResult {
  /** In [0,1]; higher = harder. */
  score: number;
  /** Tier index, 0 = simplest; thresholds.length + 1 tiers. */
  tier: number;
  features: ComplexityFeatures;
}

/**
 * Characters of the focus text the regexes scan: the head and the tail (instructions usually open a prompt, and the
 * question after a pasted document closes it). The length feature still sees the full length.
 */
const SCAN_HEAD = 1_500;
const SCAN_TAIL = 1_500;
const CHARS_PER_TOKEN = 4;

// Keyword families, matched on lower-cased text. Word boundaries keep "reason" from matching "treason" etc.
const REASONING =
  /\b(?:prove|proof|derive|derivation|step[- ]by[- ]step|analy[sz]e|analysis|explain(?: why| how)?|how does|walk me through|why does|why do|why is|compare|contrast|trade-?offs?|optimi[sz]e|design|architect\w*|algorithm\w*|complexity|debug|root cause|evaluate|justify|critique|reason about|implications?|strateg\w*|theorem|lemma|hypothes\w*|rigorous\w*|edge cases?|counterexample|formali[sz]e|refactor|concurren\w*|distributed|scalab\w*)\b/g;
const SIMPLE =
  /\b(?:hi|hello|hey|thanks|thank you|translate|spell|synonym|capital of|define|definition of|what is the|who is|who was|when was|tl;?dr|rephrase|fix (?:the )?typo|one word|yes or no|convert \d+)\b/g;
const CONSTRAINTS =
  /\b(?:must|exactly|at least|at most|without using|ensure|only use|do not|don't|constraints?|requirements?|guarantee)\b/g;
const MATH =
  /\\(?:frac|sum|int|begin|sqrt|mathbb|partial)|[∑∫∂√≤≥≠∞]|\b(?:integral|derivative|matrix|eigen\w*|probability|expected value|modulo|polynomial|equation)\b|\^\s*[\da-z({]|\d\s*[*/]\s*\d/g;
const STEP_LINE = /(?:^|\n)\s*(?:\d+[.)]|[-*•])\s+\S/g;
const CODE_FENCE = /```/g;
/** Asking for code: "write a Python function", "implement a class", "SQL query", language names. */
const CODE_TASK =
  /\b(?:(?:write|implement|code|build) (?:a |an |the )?(?:\w+ )?(?:function|class|script|program|query|regex|method|endpoint|parser|api)|python|javascript|typescript|rust|golang|java|c\+\+|sql|bash|kotlin|swift)\b/g;
const CODE_HINTS = /(?:=>|;\s*\n|\bfunction\b|\bdef |\bclass |\breturn\b|\bimport |#include|\bSELECT\b|\{\s*\n)/g;

function countMatches(pattern: RegExp, text: string, cap: number): number {
  pattern.lastIndex = 0;
  let count = 0;
  while (count < cap && pattern.exec(text) !== null) count++;
  pattern.lastIndex = 0;
  return count;
}

function contentText(content: ComplexityMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  let text = '';
  for (const part of content) if (part.text !== undefined) text += (text ? '\n' : '') + part.text;
  return text;
}

/** The text a request is judged by (last user message) plus the size of everything else. */
function focus(request: ComplexityRequest): { focusText: string; contextChars: number; turns: number } {
  if (request.messages && request.messages.length > 0) {
    let focusText = '';
    let contextChars = 0;
    let turns = 0;
    let focusFound = false;
    for (let index = request.messages.length - 1; index >= 0; index--) {
      const message = request.messages[index]!;
      const text = contentText(message.content);
      if (!focusFound && message.role === 'user') {
        focusText = text;
        focusFound = true;
      } else {
        contextChars += text.length;
      }
      if (message.role === 'user' || message.role === 'assistant') turns++;
    }
    if (!focusFound) focusText = contentText(request.messages[request.messages.length - 1]!.content);
    return { focusText, contextChars, turns };
  }
  const prompt = request.prompt;
  const text = request.text ?? (typeof prompt === 'string' ? prompt : prompt ? prompt.join('\n') : '');
  return { focusText: text, contextChars: 0, turns: 1 };
}

/** log-scaled and saturating: 0 at 0, 1 at `full` (count or tokens). */
function logScale(value: number, full: number): number {
  if (value <= 0) return 0;
  const scaled = Math.log1p(value) / Math.log1p(full);
  return scaled > 1 ? 1 : scaled;
}

export function extractFeatures(request: ComplexityRequest): ComplexityFeatures {
  const { focusText, contextChars, turns } = focus(request);
  const scanned = (
    focusText.length > SCAN_HEAD + SCAN_TAIL
      ? `${focusText.slice(0, SCAN_HEAD)}\n${focusText.slice(focusText.length - SCAN_TAIL)}`
      : focusText
  ).toLowerCase();
  const fences = countMatches(CODE_FENCE, scanned, 8);
  const codeHints = countMatches(CODE_HINTS, scanned, 8);
  const codeTasks = countMatches(CODE_TASK, scanned, 2);
  const responseType = request.response_format?.type;
  return {
    length: logScale(focusText.length / CHARS_PER_TOKEN, 2_000),
    context: logScale(contextChars / CHARS_PER_TOKEN, 8_000),
    questions: Math.min(countMatches(/\?/g, scanned, 5), 5) / 5,
    reasoning: Math.min(countMatches(REASONING, scanned, 4), 4) / 4,
    simple: Math.min(countMatches(SIMPLE, scanned, 2), 2) / 2,
    code: Math.min(1, Math.floor(fences / 2) * 0.5 + codeHints * 0.125 + codeTasks * 0.25),
    math: Math.min(countMatches(MATH, scanned, 4), 4) / 4,
    steps: Math.min(countMatches(STEP_LINE, scanned, 6), 6) / 6,
    constraints: Math.min(countMatches(CONSTRAINTS, scanned, 4), 4) / 4,
    turns: Math.min(Math.max(0, turns - 1), 10) / 10,
    structured: responseType === 'json_schema' || responseType === 'json_object' ? 1 : 0,
    tools: request.tools && request.tools.length > 0 ? 1 : 0,
  };
}

export function scoreFeatures(features: ComplexityFeatures, config: TierConfig = DEFAULT_TIER_CONFIG): number {
  let logit = config.bias;
  for (const name of FEATURE_NAMES) logit += (config.weights[name] ?? DEFAULT_WEIGHTS[name]) * features[name];
  return 1 / (1 + Math.exp(-logit));
}

/** Tier index for a score: how many thresholds the score reaches. */
export function tierForScore(score: number, thresholds: readonly number[]): number {
  let tier = 0;
  while (tier < thresholds.length && score >= thresholds[tier]!) tier++;
  return tier;
}

export function classifyComplexity(
  request: ComplexityRequest,
  config: TierConfig = DEFAULT_TIER_CONFIG,
): ComplexityResult {
  const features = extractFeatures(request);
  const score = scoreFeatures(features, config);
  return { score, tier: tierForScore(score, config.thresholds), features };
}
