// BM25 snapshot format 2: [u32 header length][JSON header][columns], each column 8-byte aligned, little-endian:
//   keys f64[n] · lengths u32[n] · starts u32[n + 1] · termIds u32[m] · tfs u16[m]
// The header holds k1, b, n, m and the term strings. Written and read as whole typed arrays (no per-document JSON),
// so a million-chunk index saves and loads in seconds; every size and term id is checked before use.
import { z } from 'zod';

const HeaderSchema = z.object({
  format: z.literal('switchyard-bm25'),
  version: z.literal(2),
  k1: z.number(),
  b: z.number(),
  documents: z.number().int().nonnegative(),
  entries: z.number().int().nonnegative(),
  terms: z.array(z.string()),
});

export interface Bm25Columns {
  k1: number;
  b: number;
  terms: readonly string[];
  keys: Float64Array;
  lengths: Uint32Array;
  /** Entries of document i are [starts[i], starts[i + 1]) of termIds / tfs. */
  starts: Uint32Array;
  termIds: Uint32Array;
  tfs: Uint16Array;
}

const align = (offset: number): number => Math.ceil(offset / 8) * 8;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('BM25 snapshots are little-endian; this machine is big-endian');
}

export function encodeBm25(columns: Bm25Columns): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      format: 'switchyard-bm25',
      version: 2,
      k1: columns.k1,
      b: columns.b,
      documents: columns.keys.length,
      entries: columns.termIds.length,
      terms: columns.terms,
    }),
  );
  const parts = [columns.keys, columns.lengths, columns.starts, columns.termIds, columns.tfs];
  let offset = align(4 + header.length);
  const offsets = parts.map((part) => {
    const at = offset;
    offset = align(offset + part.byteLength);
    return at;
  });
  const out = Buffer.alloc(offset);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  parts.forEach((part, i) =>
    out.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), offsets[i] as number),
  );
  return out;
}

export function decodeBm25(bytes: Buffer): Bm25Columns {
  if (bytes.length < 4) throw new Error('BM25 snapshot is truncated');
  const headerLength = bytes.readUInt32LE(0);
  if (4 + headerLength > bytes.length) throw new Error('BM25 snapshot is truncated');
  const header = HeaderSchema.parse(JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')));
  const n = header.documents;
  const m = header.entries;
  let offset = align(4 + headerLength);
  // Copies into fresh (aligned) arrays: a Buffer's offset in its pool need not suit a Float64Array view.
  function column<T extends Float64Array | Uint32Array | Uint16Array>(
    make: new (length: number) => T,
    length: number,
  ): T {
    const array = new make(length);
    const end = offset + array.byteLength;
    if (end > bytes.length) throw new Error('BM25 snapshot is truncated');
    new Uint8Array(array.buffer).set(bytes.subarray(offset, end));
    offset = align(end);
    return array;
  }
  const keys = column(Float64Array, n);
  const lengths = column(Uint32Array, n);
  const starts = column(Uint32Array, n + 1);
  const termIds = column(Uint32Array, m);
  const tfs = column(Uint16Array, m);
  if (starts[0] !== 0 || starts[n] !== m) throw new Error('BM25 snapshot: document offsets do not cover the entries');
  for (let i = 0; i < n; i += 1) {
    if ((starts[i + 1] as number) < (starts[i] as number))
      throw new Error('BM25 snapshot: document offsets out of order');
  }
  const termCount = header.terms.length;
  for (let i = 0; i < m; i += 1)
    if ((termIds[i] as number) >= termCount) throw new Error('BM25 snapshot: term id out of range');
  return { k1: header.k1, b: header.b, terms: header.terms, keys, lengths, starts, termIds, tfs };
}
