// The `retrieval` config section (zod; types inferred): where indexes live, which local models serve /v1/embeddings,
// /v1/rerank and the RAG pipeline, and whether they may be downloaded. Absent section = retrieval off.
import { z } from 'zod';

/** A hub model id (`Xenova/all-MiniLM-L6-v2`) or a local model folder; null: none. */
const ModelReference = z.string().min(1).nullable();

export const RetrievalSectionConfig = z.strictObject({
  enabled: z.boolean().default(true),
  /** Folder holding one sub-folder per index; default $SWITCHYARD_INDEX_DIR or ./.switchyard/indexes. */
  indexRoot: z.string().min(1).optional(),
  /** Model served by /v1/embeddings and used for few-shot banks (indexes use the embedder named in their manifest).
   * Unset: $SWITCHYARD_EMBEDDER or retrieval's default; null: no local embeddings. */
  embedder: ModelReference.optional(),
  /** Cross-encoder for /v1/rerank and `rerank` mode. Unset: $SWITCHYARD_RERANKER or retrieval's default. */
  reranker: ModelReference.optional(),
  /** Never touch the network: models must be local folders or already in the cache. */
  offline: z.boolean().default(false),
  cacheDir: z.string().min(1).optional(),
  /** Folder of few-shot banks, one `<bank>.jsonl` each (for the `few_shot` chat extension). */
  fewShotDir: z.string().min(1).optional(),
  /** Extra name clients may send as `model` to /v1/embeddings for the local embedder (its id and folder name work too). */
  embeddingModel: z.string().min(1).optional(),
  /** Context window used for the RAG token budget; default: the catalog context of the model's first vLLM pool, else 8192. */
  contextTokens: z.number().int().positive().optional(),
  /** Load the models in the background at start-up (true) or on the first retrieval request (false). */
  preload: z.boolean().default(true),
  /** How often each open index's manifest is checked for a snapshot published by the writer (0: on queries only). */
  snapshotPollMs: z.number().int().nonnegative().default(1000),
});
export type RetrievalSectionConfig = z.infer<typeof RetrievalSectionConfig>;
