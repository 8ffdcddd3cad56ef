// The CACM test collection in its published SMART format (3,204 abstracts of Communications of the ACM 1958–1979,
// 64 queries, 52 of them judged): records start with `.I <id>`, fields with `.T` title, `.W` abstract / query text,
// `.B` publication, `.A` authors, `.K` keywords, `.N` entry note, `.X` citation triples. `qrels.text` holds
// `qid docid 0 0` lines (binary relevance). Converted to the JSONL documents and queries and the TREC qrels that
// `switchyard ingest` and `switchyard eval retrieval` read.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidRequestError } from '../../core/errors.ts';

export interface SmartRecord {
  id: string;
  /** Field letter → text (lines joined with '\n', trimmed). */
  fields: Map<string, string>;
}

const FIELD = /^\.([A-Z])(?:\s+(.*))?$/;

/** Parses `.I`-delimited SMART records; unknown fields are kept, text before the first `.I` is an error. */
export function parseSmart(text: string, source: string): SmartRecord[] {
  const records: SmartRecord[] = [];
  let current: SmartRecord | null = null;
  let field: string | null = null;
  let lines: string[] = [];
  const flush = () => {
    if (current !== null && field !== null) {
      const previous = current.fields.get(field);
      const body = lines.join('\n').trim();
      current.fields.set(field, previous === undefined ? body : `${previous}\n${body}`);
    }
    lines = [];
  };
  text.split(/\r?\n/).forEach((line, index) => {
    const match = FIELD.exec(line);
    if (match !== null) {
      flush();
      const letter = match[1] as string;
      if (letter === 'I') {
        const id = (match[2] ?? '').trim();
        if (!/^\d+$/.test(id)) throw new InvalidRequestError(`${source}:${index + 1}: ".I" needs a numeric id`);
        current = { id: String(Number(id)), fields: new Map() };
        records.push(current);
        field = null;
      } else {
        if (current === null)
          throw new InvalidRequestError(`${source}:${index + 1}: field .${letter} before the first .I`);
        field = letter;
        if (match[2] !== undefined) lines.push(match[2]);
      }
      return;
    }
    if (field !== null) lines.push(line);
    else if (line.trim() !== '' && current !== null) {
      throw new InvalidRequestError(`${source}:${index + 1}: text outside a field in record ${current.id}`);
    }
  });
  flush();
  return records;
}

export interface CacmDocument {
  id: string;
  title: string;
  text: string;
  metadata: { authors: string[]; published: string };
}

export interface CacmQuery {
  id: string;
  text: string;
}

const oneLine = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ').trim();

/** Documents: the text is title, abstract, keywords and authors (title + body; see retrieval/README.md). */
export function cacmDocuments(records: readonly SmartRecord[]): CacmDocument[] {
  return records.map((record) => {
    const title = oneLine(record.fields.get('T'));
    const authors = (record.fields.get('A') ?? '')
      .split('\n')
      .map(oneLine)
      .filter((author) => author !== '');
    const body = [oneLine(record.fields.get('W')), oneLine(record.fields.get('K')), authors.join('; ')].filter(
      (part) => part !== '',
    );
    return {
      id: record.id,
      title,
      text: body.join('\n') || title,
      metadata: { authors, published: oneLine(record.fields.get('B')) },
    };
  });
}

/** Queries: the `.W` text, plus the `.A` authors some queries name. */
export function cacmQueries(records: readonly SmartRecord[]): CacmQuery[] {
  return records.map((record) => {
    const authors = (record.fields.get('A') ?? '')
      .split('\n')
      .map(oneLine)
      .filter((author) => author !== '');
    return { id: record.id, text: [oneLine(record.fields.get('W')), ...authors].join(' ').trim() };
  });
}

/** `qrels.text` (`qid docid 0 0`, duplicates allowed) → TREC qrels lines `qid 0 docid 1`. */
export function cacmQrels(text: string, source: string): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const parts = line.trim().split(/\s+/);
    if (parts.length < 2 || !/^\d+$/.test(parts[0] as string) || !/^\d+$/.test(parts[1] as string)) {
      throw new InvalidRequestError(`${source}:${index + 1}: expected "query document …"`);
    }
    const key = `${Number(parts[0])} 0 ${Number(parts[1])} 1`;
    if (!seen.has(key)) lines.push(key);
    seen.add(key);
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export interface ConvertedCollection {
  documents: number;
  queries: number;
  judgedQueries: number;
  files: { documents: string; queries: string; qrels: string };
}

/** Reads `cacm.all`, `query.text`, `qrels.text` from `directory` and writes the three converted files into `out`. */
export function convertCacm(directory: string, out: string): ConvertedCollection {
  const read = (name: string) => {
    try {
      return readFileSync(join(directory, name), 'latin1');
    } catch {
      throw new InvalidRequestError(
        `${join(directory, name)} cannot be read (a CACM folder holds cacm.all, query.text, qrels.text)`,
      );
    }
  };
  const documents = cacmDocuments(parseSmart(read('cacm.all'), 'cacm.all'));
  const queries = cacmQueries(parseSmart(read('query.text'), 'query.text')).filter((query) => query.text !== '');
  const qrels = cacmQrels(read('qrels.text'), 'qrels.text');
  mkdirSync(out, { recursive: true });
  const files = {
    documents: join(out, 'documents.jsonl'),
    queries: join(out, 'queries.jsonl'),
    qrels: join(out, 'qrels.txt'),
  };
  writeFileSync(files.documents, documents.map((document) => JSON.stringify(document)).join('\n') + '\n');
  writeFileSync(files.queries, queries.map((query) => JSON.stringify(query)).join('\n') + '\n');
  writeFileSync(files.qrels, qrels);
  const judgedQueries = new Set(
    qrels
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ')[0]),
  ).size;
  return { documents: documents.length, queries: queries.length, judgedQueries, files };
}
