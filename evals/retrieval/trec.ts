// TREC qrels and run files, read and written exactly as trec_eval reads them:
//   qrels: `qid iter docno rel`            (rel an integer; negative = in pool but unjudged)
//   run:   `qid Q0 docno rank score tag`   (rank is ignored by trec_eval: documents are ordered by score)
// Duplicate documents for one query are an error in both files, as in trec_eval.
import { InvalidRequestError } from '../../core/errors.ts';

/** qid → docno → relevance grade. */
export type Qrels = Map<string, Map<string, number>>;

export interface RunEntry {
  docno: string;
  score: number;
}

/** qid → retrieved documents (in file order; ranking is by score, see rankDocuments). */
export type Run = Map<string, RunEntry[]>;

function fields(line: string): string[] {
  return line.trim().split(/\s+/);
}

export function parseQrels(text: string, source = 'qrels'): Qrels {
  const qrels: Qrels = new Map();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const parts = fields(line);
    const where = `${source}:${index + 1}`;
    if (parts.length !== 4)
      throw new InvalidRequestError(`${where}: expected "qid iter docno rel", got ${parts.length} fields`);
    const [qid, , docno, relText] = parts as [string, string, string, string];
    if (!/^-?\d+$/.test(relText)) throw new InvalidRequestError(`${where}: relevance "${relText}" is not an integer`);
    let judgments = qrels.get(qid);
    if (!judgments) {
      judgments = new Map();
      qrels.set(qid, judgments);
    }
    if (judgments.has(docno)) throw new InvalidRequestError(`${where}: duplicate judgment for ${qid} ${docno}`);
    judgments.set(docno, Number.parseInt(relText, 10));
  });
  return qrels;
}

export function parseRun(text: string, source = 'run'): Run {
  const run: Run = new Map();
  const seen = new Map<string, Set<string>>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const parts = fields(line);
    const where = `${source}:${index + 1}`;
    if (parts.length !== 6) {
      throw new InvalidRequestError(`${where}: expected "qid Q0 docno rank score tag", got ${parts.length} fields`);
    }
    const [qid, , docno, , scoreText] = parts as [string, string, string, string, string];
    const score = Number(scoreText);
    if (!Number.isFinite(score)) throw new InvalidRequestError(`${where}: score "${scoreText}" is not a number`);
    let docs = seen.get(qid);
    if (!docs) {
      docs = new Set();
      seen.set(qid, docs);
      run.set(qid, []);
    }
    if (docs.has(docno)) throw new InvalidRequestError(`${where}: duplicate document ${docno} for query ${qid}`);
    docs.add(docno);
    run.get(qid)?.push({ docno, score });
  });
  return run;
}

/** Byte-wise comparison, as C's strcmp on the UTF-8 docnos. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** trec_eval's ordering: score descending, ties broken by docno descending (strcmp(b, a)). */
export function rankDocuments(entries: readonly RunEntry[]): string[] {
  return [...entries]
    .sort((x, y) => (x.score > y.score ? -1 : x.score < y.score ? 1 : compareBytes(y.docno, x.docno)))
    .map((entry) => entry.docno);
}

/** Writes a run in TREC format, ranks 1..n in trec_eval's order, full-precision scores. */
export function formatRun(run: Run, tag: string): string {
  if (!/^\S+$/.test(tag)) throw new InvalidRequestError(`run tag must be one word, got ${JSON.stringify(tag)}`);
  const lines: string[] = [];
  for (const [qid, entries] of run) {
    const scores = new Map(entries.map((entry) => [entry.docno, entry.score]));
    rankDocuments(entries).forEach((docno, index) => {
      lines.push(`${qid} Q0 ${docno} ${index + 1} ${scores.get(docno)} ${tag}`);
    });
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
