// Context assembly: drop exact duplicates (content hash) and near-duplicates (word-shingle Jaccard), order, and pack
// chunks into a token budget (tiktoken), each under a numbered source header. `[n]` in the answer cites source n.
// budget = context window − system prompt − expected output (see contextBudget).
import { z } from 'zod';
import type { ChunkMetadata } from '../contracts.ts';
import { getTokenizer, TokenEncodingSchema } from '../tokens.ts';

export const AssembleOptionsSchema = z.object({
  budgetTokens: z.number().int().nonnegative(),
  encoding: TokenEncodingSchema.default('cl100k_base'),
  /** Jaccard similarity of word 3-shingles at or above which the lower-ranked chunk is dropped. */
  nearDuplicateThreshold: z.number().min(0).max(1).default(0.8),
  /** relevance: best first; document: grouped by document, in reading order (best document first). */
  order: z.enum(['relevance', 'document']).default('relevance'),
});
export type AssembleOptions = z.input<typeof AssembleOptionsSchema>;

export interface ContextCandidate {
  chunkId: string;
  documentId: string;
  text: string;
  score: number;
  metadata: Pick<ChunkMetadata, 'title' | 'headingPath' | 'sourcePath' | 'sourceUrl' | 'contentHash' | 'position'>;
}

export interface ContextSource {
  /** 1-based; the answer cites it as `[n]`. */
  n: number;
  marker: string;
  chunkId: string;
  documentId: string;
  title: string;
  headingPath: string[];
  source: string;
  score: number;
  text: string;
}

export interface AssembledContext {
  text: string;
  tokens: number;
  sources: ContextSource[];
  dropped: { chunkId: string; reason: 'duplicate' | 'near-duplicate' | 'budget' }[];
}

export function contextBudget(contextWindow: number, systemPromptTokens: number, expectedOutputTokens: number): number {
  return Math.max(0, contextWindow - systemPromptTokens - expectedOutputTokens);
}

function shingles(text: string): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
  const out = new Set<string>();
  if (words.length < 3) {
    out.add(words.join(' '));
    return out;
  }
  for (let i = 0; i + 3 <= words.length; i += 1) out.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  return out;
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const item of a) if (b.has(item)) shared += 1;
  return shared / (a.size + b.size - shared);
}

function header(n: number, candidate: ContextCandidate): string {
  const path = candidate.metadata.headingPath.length > 0 ? ` › ${candidate.metadata.headingPath.join(' › ')}` : '';
  const source = candidate.metadata.sourceUrl ?? candidate.metadata.sourcePath;
  return `[${n}] ${candidate.metadata.title}${path} (${source})`;
}

export function assembleContext(candidates: readonly ContextCandidate[], options: AssembleOptions): AssembledContext {
  const config = AssembleOptionsSchema.parse(options);
  const tokenizer = getTokenizer(config.encoding);
  const dropped: AssembledContext['dropped'] = [];
  const ranked = [...candidates].sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId));

  const kept: { candidate: ContextCandidate; shingles: Set<string> }[] = [];
  const hashes = new Set<string>();
  for (const candidate of ranked) {
    if (hashes.has(candidate.metadata.contentHash)) {
      dropped.push({ chunkId: candidate.chunkId, reason: 'duplicate' });
      continue;
    }
    const own = shingles(candidate.text);
    if (kept.some((other) => jaccard(own, other.shingles) >= config.nearDuplicateThreshold)) {
      dropped.push({ chunkId: candidate.chunkId, reason: 'near-duplicate' });
      continue;
    }
    hashes.add(candidate.metadata.contentHash);
    kept.push({ candidate, shingles: own });
  }

  // Greedy packing in relevance order: a chunk that does not fit is skipped, smaller later ones may still fit.
  const packed: ContextCandidate[] = [];
  let used = 0;
  const separatorTokens = tokenizer.count('\n\n');
  for (const { candidate } of kept) {
    const cost = tokenizer.count(`${header(0, candidate)}\n${candidate.text.trim()}`) + 1 + separatorTokens;
    if (used + cost > config.budgetTokens) {
      dropped.push({ chunkId: candidate.chunkId, reason: 'budget' });
      continue;
    }
    used += cost;
    packed.push(candidate);
  }

  if (config.order === 'document') {
    const firstSeen = new Map<string, number>();
    packed.forEach((candidate, i) => {
      if (!firstSeen.has(candidate.documentId)) firstSeen.set(candidate.documentId, i);
    });
    packed.sort(
      (a, b) =>
        (firstSeen.get(a.documentId) as number) - (firstSeen.get(b.documentId) as number) ||
        a.metadata.position - b.metadata.position,
    );
  }

  const sources: ContextSource[] = packed.map((candidate, i) => ({
    n: i + 1,
    marker: `[${i + 1}]`,
    chunkId: candidate.chunkId,
    documentId: candidate.documentId,
    title: candidate.metadata.title,
    headingPath: candidate.metadata.headingPath,
    source: candidate.metadata.sourceUrl ?? candidate.metadata.sourcePath,
    score: candidate.score,
    text: candidate.text,
  }));
  const text = packed.map((candidate, i) => `${header(i + 1, candidate)}\n${candidate.text.trim()}`).join('\n\n');
  return { text, tokens: tokenizer.count(text), sources, dropped };
}
