// Stage 2: semantic metrics. Embedding cosine to the reference, claim precision / recall (sentences as claims,
// matched when their cosine reaches `similarity`), ROUGE-L, named-entity overlap, and faithfulness of the answer to
// the case's context (share of answer claims supported by some context sentence).
import { z } from 'zod';
import type { Embedder, EvalMetric, MetricInput } from '../contracts.ts';
import { cosine, extractEntities, rougeL, splitSentences } from './text.ts';

const referenceSource = z.enum(['reference', 'expected']).optional();

function referenceText(input: MetricInput, source: 'reference' | 'expected' | undefined): string {
  const text =
    source === 'expected'
      ? input.case.expected
      : source === 'reference'
        ? input.case.reference
        : (input.case.reference ?? input.case.expected);
  if (text === undefined || text.trim() === '') throw new Error('the case has no reference (or expected) answer');
  return text;
}

export interface ClaimMatch {
  claim: string;
  bestMatch: string | null;
  similarity: number;
  supported: boolean;
}

/** For each claim, its most similar sentence among `against` and whether the similarity reaches `threshold`. */
export async function matchClaims(
  embedder: Embedder,
  claims: readonly string[],
  against: readonly string[],
  threshold: number,
): Promise<ClaimMatch[]> {
  if (claims.length === 0) return [];
  const vectors = await embedder.embed([...claims, ...against]);
  const againstVectors = vectors.slice(claims.length);
  return claims.map((claim, index) => {
    const claimVector = vectors[index] ?? [];
    let best = -1;
    let bestIndex = -1;
    againstVectors.forEach((vector, j) => {
      const similarity = cosine(claimVector, vector);
      if (similarity > best) {
        best = similarity;
        bestIndex = j;
      }
    });
    const similarity = Math.max(0, best);
    return { claim, bestMatch: against[bestIndex] ?? null, similarity, supported: bestIndex >= 0 && best >= threshold };
  });
}

const claimParams = z.strictObject({
  /** Cosine at or above which two sentences count as the same claim. */
  similarity: z.number().min(-1).max(1).default(0.75),
  /** Pass when the share of matched claims reaches this. */
  threshold: z.number().min(0).max(1).default(0.5),
  source: referenceSource,
});
type ClaimParams = z.infer<typeof claimParams>;

function claimResult(matches: ClaimMatch[], threshold: number, what: string) {
  const supported = matches.filter((match) => match.supported).length;
  const score = matches.length === 0 ? 0 : supported / matches.length;
  const unsupported = matches.find((match) => !match.supported);
  return {
    pass: matches.length > 0 && score >= threshold,
    score,
    reason:
      matches.length === 0
        ? `no ${what} to check`
        : `${supported}/${matches.length} ${what} matched` +
          (unsupported ? `; e.g. unmatched: ${JSON.stringify(unsupported.claim.slice(0, 80))}` : ''),
    details: { matches },
  };
}

export const embeddingSimilarityMetric: EvalMetric<{
  threshold: number;
  source?: 'reference' | 'expected' | undefined;
}> = {
  name: 'embedding-similarity',
  stage: 'semantic',
  description: 'cosine similarity of output and reference embeddings (negative clamped to 0)',
  params: z.strictObject({ threshold: z.number().min(0).max(1).default(0.8), source: referenceSource }),
  async evaluate(input, params, services) {
    const reference = referenceText(input, params.source);
    const [a, b] = await services.embedder.embed([input.output, reference]);
    const score = Math.max(0, cosine(a ?? [], b ?? []));
    return {
      pass: score >= params.threshold,
      score,
      reason: `cosine ${score.toFixed(3)} (threshold ${params.threshold}, ${services.embedder.id})`,
    };
  },
};

export const claimPrecisionMetric: EvalMetric<ClaimParams> = {
  name: 'claim-precision',
  stage: 'semantic',
  description: 'share of output sentences that match some reference sentence (no unsupported additions)',
  params: claimParams,
  async evaluate(input, params, services) {
    const reference = splitSentences(referenceText(input, params.source));
    const matches = await matchClaims(services.embedder, splitSentences(input.output), reference, params.similarity);
    return claimResult(matches, params.threshold, 'output claims');
  },
};

export const claimRecallMetric: EvalMetric<ClaimParams> = {
  name: 'claim-recall',
  stage: 'semantic',
  description: 'share of reference sentences covered by some output sentence (nothing important missing)',
  params: claimParams,
  async evaluate(input, params, services) {
    const reference = splitSentences(referenceText(input, params.source));
    const matches = await matchClaims(services.embedder, reference, splitSentences(input.output), params.similarity);
    return claimResult(matches, params.threshold, 'reference claims');
  },
};

export const faithfulnessMetric: EvalMetric<{ similarity: number; threshold: number }> = {
  name: 'faithfulness',
  stage: 'semantic',
  description: 'share of output sentences supported by a sentence of the case `context` (retrieved passages)',
  params: z.strictObject({
    similarity: z.number().min(-1).max(1).default(0.75),
    threshold: z.number().min(0).max(1).default(0.8),
  }),
  async evaluate(input, params, services) {
    const context = (input.case.context ?? []).flatMap(splitSentences);
    if (context.length === 0) throw new Error('the case has no `context` to be faithful to');
    const matches = await matchClaims(services.embedder, splitSentences(input.output), context, params.similarity);
    return claimResult(matches, params.threshold, 'output claims supported by context');
  },
};

export const rougeLMetric: EvalMetric<{ threshold: number; source?: 'reference' | 'expected' | undefined }> = {
  name: 'rouge-l',
  stage: 'semantic',
  description: 'ROUGE-L F1 (longest common word subsequence) against the reference',
  params: z.strictObject({ threshold: z.number().min(0).max(1).default(0.3), source: referenceSource }),
  evaluate(input, params) {
    const scores = rougeL(input.output, referenceText(input, params.source));
    return {
      pass: scores.f1 >= params.threshold,
      score: scores.f1,
      reason: `ROUGE-L F1 ${scores.f1.toFixed(3)} (P ${scores.precision.toFixed(3)}, R ${scores.recall.toFixed(3)})`,
      details: { ...scores },
    };
  },
};

export const entityOverlapMetric: EvalMetric<{ threshold: number; source?: 'reference' | 'expected' | undefined }> = {
  name: 'entity-overlap',
  stage: 'semantic',
  description: 'share of the reference named entities (people, places, organisations, numbers) found in the output',
  params: z.strictObject({ threshold: z.number().min(0).max(1).default(0.5), source: referenceSource }),
  async evaluate(input, params) {
    const expected = await extractEntities(referenceText(input, params.source));
    if (expected.length === 0) return { pass: true, score: 1, reason: 'reference names no entities' };
    const found = new Set(await extractEntities(input.output));
    // An entity also counts when it appears verbatim in the output text (the tagger may split it differently).
    const lowered = input.output.toLowerCase();
    const hits = expected.filter((entity) => found.has(entity) || lowered.includes(entity));
    const missing = expected.filter((entity) => !hits.includes(entity));
    const score = hits.length / expected.length;
    return {
      pass: score >= params.threshold,
      score,
      reason:
        `${hits.length}/${expected.length} entities` + (missing.length > 0 ? `; missing ${missing.join(', ')}` : ''),
      details: { expected, found: [...found] },
    };
  },
};
