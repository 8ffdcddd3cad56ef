// Types-only contracts for the swappable parts of retrieval. Implementations live beside them; every implementation
// of a contract runs the same conformance suite (see *.conformance.ts).

/** A loaded source document, before chunking. */
export interface SourceDocument {
  /** Stable id: the JSONL record's `id`, otherwise the path relative to the ingest root. */
  id: string;
  title: string;
  text: string;
  /** What kind of text this is, so chunkers can pick structure-aware splitting. */
  format: DocumentFormat;
  sourcePath: string;
  sourceUrl?: string;
  /** Epoch milliseconds. */
  lastModified: number;
  /** Free-form metadata (from JSONL records or front matter); must be JSON-serialisable scalars or arrays. */
  metadata: Record<string, MetadataValue>;
  /** Only for source code: picks the code-aware chunker's grammar. */
  language?: CodeLanguage;
}

export type DocumentFormat = 'markdown' | 'text' | 'html' | 'code' | 'jsonl';
export type CodeLanguage = 'typescript' | 'javascript' | 'python' | 'other';
export type MetadataValue = string | number | boolean | null | string[] | number[];

/** A piece of a document as produced by a chunker (before ids/metadata are attached). */
export interface ChunkDraft {
  text: string;
  /** Character offsets into the document text, [start, end). */
  start: number;
  end: number;
  /** Heading path (Markdown sections) or symbol path (code: class › method). */
  headingPath: string[];
  tokenCount: number;
}

export interface Chunker {
  /** Its key in the chunker registry (chunkers/registry.ts checks each factory's chunker against its key). */
  readonly name: string;
  chunk(document: SourceDocument): Promise<ChunkDraft[]>;
}

/** What every stored chunk carries. */
export interface ChunkMetadata {
  documentId: string;
  title: string;
  headingPath: string[];
  sourcePath: string;
  sourceUrl: string | null;
  lastModified: number;
  /** 0-based position of the chunk within its document. */
  position: number;
  tokenCount: number;
  /** sha256 of the chunk text. */
  contentHash: string;
  start: number;
  end: number;
  extra: Record<string, MetadataValue>;
}

export interface Chunk {
  /** Integer key shared by the store, the BM25 index and the HNSW labels. */
  key: number;
  /** Human-readable id: `${documentId}#${position}`. */
  id: string;
  text: string;
  metadata: ChunkMetadata;
}

export interface Embedder {
  readonly modelId: string;
  readonly dimensions: number;
  /** L2-normalised vectors, one per text, in order. `kind` selects the model's instruction prefix. */
  embed(texts: readonly string[], kind: EmbeddingKind): Promise<Float32Array[]>;
  dispose(): Promise<void>;
  /** Hybrid defaults measured for this embedder (vector weight against lexical 1, RRF k); absent: 1 and 60. */
  readonly fusion?: { vectorWeight: number; rrfK: number };
}

export type EmbeddingKind = 'query' | 'document';

export interface Reranker {
  readonly modelId: string;
  /** One relevance score per passage (higher is more relevant), in input order. */
  score(query: string, passages: readonly string[]): Promise<number[]>;
  dispose(): Promise<void>;
}

export interface SearchHit {
  key: number;
  score: number;
}

/** Restricts a search to keys the predicate accepts; applied inside the search so k results still come back. */
export type KeyFilter = (key: number) => boolean;

/** An in-memory index over integer keys; persistence writes and reads one file. */
export interface SearchIndex<TQuery, TItem> {
  readonly kind: string;
  readonly size: number;
  add(items: readonly TItem[]): void;
  /** Removes keys; unknown keys are ignored. Returns how many were removed. */
  delete(keys: readonly number[]): number;
  has(key: number): boolean;
  /** Best first, at most k hits, ties broken by ascending key. */
  search(query: TQuery, k: number, filter?: KeyFilter): SearchHit[];
  /** Writes the index to `path` (the caller makes it atomic). */
  save(path: string): void;
}

export interface VectorItem {
  key: number;
  vector: Float32Array;
}

export interface TextItem {
  key: number;
  text: string;
}

export type VectorIndex = SearchIndex<Float32Array, VectorItem>;
export type LexicalIndex = SearchIndex<string, TextItem>;
