import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dot } from '../indexes/vector-math.ts';
import { instructionPrefixes, TransformersEmbedder } from './embedder.ts';
import { runEmbedderConformance } from './models.conformance.ts';
import { OnnxEmbedder } from './onnx-embedder.ts';
import { OnnxCrossEncoder } from './reranker.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const EMBEDDER = join(FIXTURES, 'tiny-bert-embedder');
const CROSS_ENCODER = join(FIXTURES, 'tiny-cross-encoder');

runEmbedderConformance('transformers.js pipeline', (options) =>
  TransformersEmbedder.load({ model: EMBEDDER, offline: true, ...options }),
);
runEmbedderConformance('onnxruntime + own pooling', (options) =>
  OnnxEmbedder.load({ model: EMBEDDER, offline: true, ...options }),
);

describe('embedders on the tiny model', () => {
  it('agree with each other', async () => {
    const pipelineEmbedder = await TransformersEmbedder.load({ model: EMBEDDER, offline: true });
    const raw = await OnnxEmbedder.load({ model: EMBEDDER, offline: true });
    const texts = ['login flow for users', 'kubernetes pods and containers'];
    const a = await pipelineEmbedder.embed(texts, 'document');
    const b = await raw.embed(texts, 'document');
    for (let i = 0; i < texts.length; i += 1) {
      expect(dot(a[i] as Float32Array, b[i] as Float32Array)).toBeGreaterThan(0.9999);
    }
  });

  it('puts related concepts closer than unrelated ones (planted clusters)', async () => {
    const embedder = await TransformersEmbedder.load({ model: EMBEDDER, offline: true });
    const [query, auth, cooking] = await embedder.embed(
      ['how do I set up the login flow', 'authentication with password credentials', 'bake bread in the oven'],
      'document',
    );
    expect(dot(query as Float32Array, auth as Float32Array)).toBeGreaterThan(
      dot(query as Float32Array, cooking as Float32Array) + 0.3,
    );
  });

  it('guesses instruction prefixes per model family', () => {
    expect(instructionPrefixes('nomic-ai/nomic-embed-text-v1.5').query).toBe('search_query: ');
    expect(instructionPrefixes('intfloat/e5-small-v2')).toEqual({ query: 'query: ', document: 'passage: ' });
    expect(instructionPrefixes('Xenova/all-MiniLM-L6-v2')).toEqual({ query: '', document: '' });
  });

  it('fails offline with a message naming the missing files, without network access', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'switchyard-cache-'));
    try {
      const attempt = TransformersEmbedder.load({ model: 'Xenova/all-MiniLM-L6-v2', cacheDir: cache, offline: true });
      await expect(attempt).rejects.toThrow(/not available offline: missing .*config\.json.*onnx\/model\.onnx/);
      await expect(OnnxCrossEncoder.load({ model: join(cache, 'nothing-here'), offline: true })).rejects.toThrow(
        /missing .*tokenizer\.json/,
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe('OnnxCrossEncoder on the tiny cross-encoder', () => {
  it('scores related passages above unrelated ones, batch == single', async () => {
    const reranker = await OnnxCrossEncoder.load({ model: CROSS_ENCODER, offline: true, batchSize: 2 });
    const passages = [
      'Bake the bread with flour and butter.',
      'Authentication uses OAuth tokens and password credentials.',
      'The forecast says rain and storms.',
    ];
    const scores = await reranker.score('how does login work', passages);
    expect(scores).toHaveLength(3);
    expect(scores[1]).toBeGreaterThan(Math.max(scores[0] as number, scores[2] as number));
    for (const [i, passage] of passages.entries()) {
      const [single] = await reranker.score('how does login work', [passage]);
      expect(single).toBeCloseTo(scores[i] as number, 4);
    }
    await reranker.dispose();
  });
});
