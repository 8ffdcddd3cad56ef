// The manifest names the current snapshot: one generation of store, BM25 and HNSW files with sizes, checksums and
// counts. It is written last and atomically, so it only ever points at complete, fsynced files.
import { z } from 'zod';

export const MANIFEST_FORMAT = 'switchyard-index';
export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

const FileEntrySchema = z.object({
  name: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileEntry = z.infer<typeof FileEntrySchema>;

export const ManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.number().int(),
  generation: z.number().int().positive(),
  savedAt: z.string(),
  embedder: z.object({ model: z.string(), dimensions: z.number().int().positive() }).nullable(),
  counts: z.object({
    documents: z.number().int().nonnegative(),
    chunks: z.number().int().nonnegative(),
    lexical: z.number().int().nonnegative(),
    vectors: z.number().int().nonnegative(),
  }),
  files: z.object({ store: FileEntrySchema, bm25: FileEntrySchema, hnsw: FileEntrySchema.nullable() }),
});
export type Manifest = z.infer<typeof ManifestSchema>;
