// Claims of an answer and the verifier's structured output. An answer is cut into sentences; each sentence with
// its `[n]` markers is one claim, judged against the text of exactly the sources it cites. Claims that cite nothing,
// or cite a marker that was not in the context, are decided here without asking a model. The verifier answers
// JSON validated by a schema (`verdicts`, one per claim, in order); output that is not valid is repaired locally
// (code fences, prose around the object, trailing commas) before the caller retries the model.
import { z } from 'zod';

export type Verdict = 'supported' | 'unsupported' | 'contradicted' | 'uncited' | 'unknown_source';

export interface Claim {
  /** 1-based position in the answer. */
  claim: number;
  text: string;
  markers: string[];
}

export interface ClaimVerdict extends Claim {
  verdict: Verdict;
  reason: string;
}

export interface SourceText {
  marker: string;
  text: string;
}

const MARKER = /\[(\d+)\]/g;
/** Sentences: end punctuation (optionally followed by markers) then whitespace, or line breaks. */
const SENTENCE_END = /(?<=[.!?](?:\s*\[\d+\])*)\s+|\n+/;

/** Sentences of the answer; fragments without a letter (list numbers, stray markers) attach to their neighbour. */
export function splitClaims(answer: string): Claim[] {
  const claims: Claim[] = [];
  for (const piece of answer.split(SENTENCE_END)) {
    const text = piece.trim();
    if (text.length === 0) continue;
    const markers = [...new Set([...text.matchAll(MARKER)].map((match) => `[${match[1]}]`))];
    if (!/\p{L}/u.test(text.replace(MARKER, ''))) {
      const previous = claims.at(-1);
      if (previous) {
        previous.text = `${previous.text} ${text}`;
        previous.markers = [...new Set([...previous.markers, ...markers])];
      }
      continue;
    }
    claims.push({ claim: claims.length + 1, text, markers });
  }
  return claims;
}

/** Claims decided without a model (nothing cited, or a marker with no source) and those to ask the verifier about. */
export function triageClaims(
  claims: readonly Claim[],
  sources: readonly SourceText[],
): { decided: ClaimVerdict[]; toJudge: Claim[] } {
  const known = new Set(sources.map((source) => source.marker));
  const decided: ClaimVerdict[] = [];
  const toJudge: Claim[] = [];
  for (const claim of claims) {
    if (claim.markers.length === 0) {
      decided.push({ ...claim, verdict: 'uncited', reason: 'the sentence cites no source' });
    } else if (claim.markers.some((marker) => !known.has(marker))) {
      const missing = claim.markers.filter((marker) => !known.has(marker));
      decided.push({
        ...claim,
        verdict: 'unknown_source',
        reason: `cites ${missing.join(', ')}, which is not among the sources`,
      });
    } else {
      toJudge.push(claim);
    }
  }
  return { decided, toJudge };
}

/** The `claims` variable of the verify prompt: each claim followed by the full text of the sources it cites. */
export function claimsForPrompt(claims: readonly Claim[], sources: readonly SourceText[]): string {
  const byMarker = new Map(sources.map((source) => [source.marker, source.text]));
  return claims
    .map((claim, index) => {
      const cited = claim.markers.map((marker) => `  Source ${marker}: ${byMarker.get(marker) ?? ''}`).join('\n');
      return `Claim ${index + 1}: ${claim.text.replace(MARKER, '').trim()}\n${cited}`;
    })
    .join('\n\n');
}

const VERDICTS = ['supported', 'unsupported', 'contradicted'] as const;

/** JSON schema sent as `response_format` (constrained decoding where the engine supports it). */
export function verifierJsonSchema(count: number): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      verdicts: {
        type: 'array',
        minItems: count,
        maxItems: count,
        items: {
          type: 'object',
          properties: { verdict: { type: 'string', enum: [...VERDICTS] }, reason: { type: 'string', maxLength: 300 } },
          required: ['verdict', 'reason'],
          additionalProperties: false,
        },
      },
    },
    required: ['verdicts'],
    additionalProperties: false,
  };
}

const VerifierOutput = z.object({
  verdicts: z.array(z.object({ verdict: z.enum(VERDICTS), reason: z.string().max(2000) })),
});
export type VerifierOutput = z.infer<typeof VerifierOutput>;

export type ParsedVerifier = { ok: true; value: VerifierOutput; repaired: boolean } | { ok: false; problem: string };

/** Validates the verifier's text for `count` claims; repairs fences / surrounding prose / trailing commas once. */
export function parseVerifierOutput(text: string, count: number): ParsedVerifier {
  const direct = validate(text, count);
  if (direct.ok) return { ...direct, repaired: false };
  const repairedText = repairJson(text);
  if (repairedText !== undefined && repairedText !== text) {
    const repaired = validate(repairedText, count);
    if (repaired.ok) return { ...repaired, repaired: true };
  }
  return direct;
}

function validate(text: string, count: number): { ok: true; value: VerifierOutput } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the output is not valid JSON' };
  }
  const parsed = VerifierOutput.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      problem: `the output does not match the schema at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`,
    };
  }
  if (parsed.data.verdicts.length !== count) {
    return { ok: false, problem: `expected ${count} verdicts (one per claim), got ${parsed.data.verdicts.length}` };
  }
  return { ok: true, value: parsed.data };
}

/** Best-effort: the first `{…}` block (inside a code fence or prose), without trailing commas. */
export function repairJson(text: string): string | undefined {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const candidate = fenced?.[1] ?? text;
  const start = candidate.indexOf('{');
  const end = candidate.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  return candidate.slice(start, end + 1).replace(/,\s*([}\]])/g, '$1');
}

/** The findings handed to the regenerate prompt. */
export function findingsText(verdicts: readonly ClaimVerdict[]): string {
  return verdicts
    .filter((verdict) => verdict.verdict !== 'supported')
    .map((verdict) => `- "${verdict.text}": ${verdict.verdict} (${verdict.reason})`)
    .join('\n');
}
