// Which embedding model the allowed-topics guardrail and the semantic cache use, a start-up check that its files are
// there, and a lazy loader. The model is retrieval's (retrieval/models/embedder.ts, through transformers.js), imported
// only when one of the two features is on, so a router without them never loads the ONNX runtime.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Embedder } from '../../retrieval/contracts.ts';
import type { GovernanceConfig } from '../config/governance.ts';

/** retrieval's DEFAULT_EMBEDDING_MODEL (not imported: that module loads the model libraries). */
export const FALLBACK_EMBEDDER = 'Xenova/all-MiniLM-L6-v2';

export interface EmbedderReference {
  /** Absolute local folder, or a hub id. */
  model: string;
  offline: boolean;
  cacheDir: string | undefined;
  dtype: 'fp32' | 'q8';
}

/** The router's `retrieval` section, as far as the embedder goes. */
export interface RetrievalEmbedderSettings {
  embedder?: string | null | undefined;
  offline?: boolean | undefined;
  cacheDir?: string | undefined;
}

/** Anything that yields the embedder: an instance (tests), a promise of one, or a loader. */
export type EmbedderSource = Embedder | Promise<Embedder> | (() => Promise<Embedder>);

/**
 * governance.embedder.model, else the router's retrieval.embedder, else $SWITCHYARD_EMBEDDER, else retrieval's default
 * (the order router/rag/mount.ts uses). A retrieval embedder set to null with no governance model is a config error.
 */
export function resolveEmbedderReference(
  config: GovernanceConfig['embedder'],
  retrieval: RetrievalEmbedderSettings | undefined,
  environment: NodeJS.ProcessEnv = process.env,
): EmbedderReference {
  let model = config.model;
  if (model === undefined) {
    if (retrieval?.embedder === null) {
      throw new Error(
        'governance: allowed topics / the semantic cache need an embedding model, but retrieval.embedder is null; ' +
          'set governance.embedder.model to a local model folder or hub id.',
      );
    }
    model = retrieval?.embedder ?? environment['SWITCHYARD_EMBEDDER'] ?? FALLBACK_EMBEDDER;
  }
  const local = resolve(model);
  return {
    model: isLocalReference(model) ? local : model,
    offline: config.offline ?? retrieval?.offline ?? false,
    cacheDir: config.cacheDir ?? retrieval?.cacheDir,
    dtype: config.dtype,
  };
}

function isLocalReference(model: string): boolean {
  return isAbsolute(model) || model.startsWith('./') || model.startsWith('../') || existsSync(model);
}

/** retrieval/models/resolve.ts's default download cache (same rule, kept here to stay free of its imports). */
function defaultCacheDir(environment: NodeJS.ProcessEnv): string {
  return (
    environment['SWITCHYARD_MODEL_CACHE'] ?? join(environment['HOME'] ?? homedir(), '.cache', 'switchyard', 'models')
  );
}

/**
 * Synchronous start-up check: a local folder (or an offline hub id) must hold the model's files, so a missing model
 * fails the router's start with the list of missing files instead of failing (closed) on every request.
 */
export function assertEmbedderFiles(reference: EmbedderReference, environment: NodeJS.ProcessEnv = process.env): void {
  const local = isAbsolute(reference.model);
  if (!local && !reference.offline) return; // may still be downloaded on first load
  const folder = local ? reference.model : join(reference.cacheDir ?? defaultCacheDir(environment), reference.model);
  const wanted = [
    'config.json',
    'tokenizer.json',
    join('onnx', reference.dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx'),
  ];
  const missing = wanted.filter((file) => !existsSync(join(folder, file)));
  if (missing.length > 0) {
    throw new Error(
      `governance: the embedding model for allowed topics / the semantic cache is not available: missing ${missing
        .map((file) => join(folder, file))
        .join(', ')} (set governance.embedder.model or retrieval.embedder to a local model folder).`,
    );
  }
}

/** Loads the model through retrieval's transformers.js embedder (mean pooling, L2-normalised vectors). */
export async function loadEmbedder(reference: EmbedderReference): Promise<Embedder> {
  const { TransformersEmbedder } = await import('../../retrieval/models/embedder.ts');
  return TransformersEmbedder.load({
    model: reference.model,
    offline: reference.offline,
    dtype: reference.dtype,
    ...(reference.cacheDir === undefined ? {} : { cacheDir: reference.cacheDir }),
  });
}

/** Resolves the configured model and checks its files now (a missing model fails start-up); loads it lazily. */
export function embedderLoader(
  config: GovernanceConfig,
  retrieval: RetrievalEmbedderSettings | undefined,
): () => Promise<Embedder> {
  const reference = resolveEmbedderReference(config.embedder, retrieval);
  assertEmbedderFiles(reference);
  return () => loadEmbedder(reference);
}

export function fromSource(source: EmbedderSource): Promise<Embedder> {
  if (typeof source === 'function') return source();
  return Promise.resolve(source);
}
