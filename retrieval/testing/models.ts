// Paths of the generated model fixtures and a cached loader, shared by tests.
import { join } from 'node:path';
import type { Embedder, Reranker } from '../contracts.ts';
import { TransformersEmbedder } from '../models/embedder.ts';
import { OnnxCrossEncoder } from '../models/reranker.ts';

export const TINY_EMBEDDER = join(import.meta.dirname, '..', 'models', 'fixtures', 'tiny-bert-embedder');
export const TINY_CROSS_ENCODER = join(import.meta.dirname, '..', 'models', 'fixtures', 'tiny-cross-encoder');
export const DOCS_FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'docs');

let models: Promise<{ embedder: Embedder; reranker: Reranker }> | null = null;

export function tinyModels(): Promise<{ embedder: Embedder; reranker: Reranker }> {
  models ??= Promise.all([
    TransformersEmbedder.load({ model: TINY_EMBEDDER, offline: true }),
    OnnxCrossEncoder.load({ model: TINY_CROSS_ENCODER, offline: true }),
  ]).then(([embedder, reranker]) => ({ embedder, reranker }));
  return models;
}
