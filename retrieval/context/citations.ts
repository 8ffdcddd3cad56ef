// Post-check of an answer's citations: every `[n]` must name a source that was given, and the sentence carrying it
// must share at least one content term (stop words removed, Porter-stemmed) with that source.
import { englishAnalyzer } from '../indexes/analyzer.ts';
import type { ContextSource } from './assemble.ts';

export type CitationStatus = 'ok' | 'unknown_source' | 'unsupported';

export interface CitationCheck {
  marker: string;
  n: number;
  sentence: string;
  status: CitationStatus;
  /** Terms the sentence and the source share (empty unless ok). */
  sharedTerms: string[];
}

export function splitSentences(text: string): string[] {
  // A sentence ends at . ! or ? plus any citation markers right after it ("… refused. [1]"), then whitespace.
  const sentences: string[] = [];
  const boundary = /[.!?]+(?:\s*\[\d+\])*(?:\s+|$)/g;
  let start = 0;
  for (let match = boundary.exec(text); match !== null; match = boundary.exec(text)) {
    sentences.push(text.slice(start, match.index + match[0].length));
    start = match.index + match[0].length;
  }
  sentences.push(text.slice(start));
  return sentences.map((sentence) => sentence.trim()).filter((sentence) => sentence.length > 0);
}

export function checkCitations(
  answer: string,
  sources: readonly Pick<ContextSource, 'n' | 'text' | 'title'>[],
): {
  citations: CitationCheck[];
  valid: boolean;
} {
  const byNumber = new Map(sources.map((source) => [source.n, source]));
  const sourceTerms = new Map<number, Set<string>>();
  const citations: CitationCheck[] = [];
  for (const sentence of splitSentences(answer)) {
    const markers = [...sentence.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1]));
    if (markers.length === 0) continue;
    const sentenceTerms = new Set(englishAnalyzer.terms(sentence.replace(/\[\d+\]/g, ' ')));
    for (const n of markers) {
      const source = byNumber.get(n);
      if (source === undefined) {
        citations.push({ marker: `[${n}]`, n, sentence, status: 'unknown_source', sharedTerms: [] });
        continue;
      }
      let terms = sourceTerms.get(n);
      if (terms === undefined) {
        terms = new Set(englishAnalyzer.terms(`${source.title}\n${source.text}`));
        sourceTerms.set(n, terms);
      }
      const shared = [...sentenceTerms].filter((term) => terms.has(term));
      citations.push({
        marker: `[${n}]`,
        n,
        sentence,
        status: shared.length > 0 ? 'ok' : 'unsupported',
        sharedTerms: shared,
      });
    }
  }
  return { citations, valid: citations.every((citation) => citation.status === 'ok') };
}
