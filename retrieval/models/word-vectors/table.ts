// The compact word-vector table: the most frequent words of a word-embedding package, int8 vectors with one scale
// per word, in frequency order (a word's row is its frequency rank, which the embedder turns into an IDF weight).
// File layout (little-endian):
//   "SWYWVEC1" · u32 header length · header JSON · u32 words length · words (UTF-8, '\n'-separated)
//   · f32[count] scales · i8[count × dimensions] vectors
// A word's vector is int8 × scale; scale = max |component| / 127, so the rounding error is at most scale / 2.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const MAGIC = 'SWYWVEC1';

export const TableHeaderSchema = z.object({
  /** Package and version the table was derived from. */
  source: z.string(),
  count: z.number().int().positive(),
  dimensions: z.number().int().positive(),
  /** Words of the source package, for the record. */
  sourceWords: z.number().int().positive(),
  quantization: z.literal('int8'),
});
export type TableHeader = z.infer<typeof TableHeaderSchema>;

export interface WordVectorTable {
  header: TableHeader;
  /** word → row (= frequency rank among the kept words). */
  rows: Map<string, number>;
  scales: Float32Array;
  vectors: Int8Array;
}

export function encodeTable(header: TableHeader, words: readonly string[], vectors: readonly Float32Array[]): Buffer {
  const { count, dimensions } = header;
  if (words.length !== count || vectors.length !== count) throw new Error(`table needs ${count} words and vectors`);
  const scales = new Float32Array(count);
  const quantised = new Int8Array(count * dimensions);
  vectors.forEach((vector, row) => {
    let max = 0;
    for (const value of vector) max = Math.max(max, Math.abs(value));
    const scale = max === 0 ? 1 : max / 127;
    scales[row] = scale;
    for (let i = 0; i < dimensions; i += 1) quantised[row * dimensions + i] = Math.round((vector[i] as number) / scale);
  });
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const wordBytes = Buffer.from(words.join('\n'), 'utf8');
  const lengths = (n: number) => {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(n);
    return buffer;
  };
  return Buffer.concat([
    Buffer.from(MAGIC, 'ascii'),
    lengths(headerBytes.length),
    headerBytes,
    lengths(wordBytes.length),
    wordBytes,
    Buffer.from(scales.buffer),
    Buffer.from(quantised.buffer),
  ]);
}

export function decodeTable(bytes: Buffer, source = 'word-vector table'): WordVectorTable {
  const fail = (why: string): never => {
    throw new Error(
      `${source} is not a word-vector table (${why}); derive it again with \`switchyard embeddings derive\``,
    );
  };
  if (bytes.length < 16 || bytes.toString('ascii', 0, 8) !== MAGIC) fail('bad magic');
  let offset = 8;
  const headerLength = bytes.readUInt32LE(offset);
  offset += 4;
  const parsed = TableHeaderSchema.safeParse(JSON.parse(bytes.toString('utf8', offset, offset + headerLength)));
  if (!parsed.success) return fail('bad header');
  const header = parsed.data;
  offset += headerLength;
  const wordsLength = bytes.readUInt32LE(offset);
  offset += 4;
  const words = bytes.toString('utf8', offset, offset + wordsLength).split('\n');
  offset += wordsLength;
  const expected = offset + header.count * 4 + header.count * header.dimensions;
  if (words.length !== header.count || bytes.length !== expected) fail('truncated');
  // Copies: the file's offsets are not aligned for a Float32Array view.
  const scales = new Float32Array(header.count);
  Buffer.from(scales.buffer).set(bytes.subarray(offset, offset + header.count * 4));
  offset += header.count * 4;
  const vectors = new Int8Array(header.count * header.dimensions);
  Buffer.from(vectors.buffer).set(bytes.subarray(offset, expected));
  const rows = new Map<string, number>();
  words.forEach((word, row) => {
    if (!rows.has(word)) rows.set(word, row);
  });
  return { header, rows, scales, vectors };
}

export function readTable(path: string): WordVectorTable {
  return decodeTable(readFileSync(path), path);
}
