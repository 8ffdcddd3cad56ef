import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexCorruptError, IndexLockedError } from './errors.ts';
import { ingest } from './ingest.ts';
import { RetrievalIndex } from './retrieval-index.ts';
import { TransformersEmbedder } from './models/embedder.ts';
import { DOCS_FIXTURE, TINY_EMBEDDER, tinyModels } from './testing/models.ts';

const NOW = Date.parse('2026-11-27T00:00:00Z');
let workspace = '';
let docs = '';
let indexDir = '';

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-retrieval-'));
  docs = join(workspace, 'docs');
  indexDir = join(workspace, 'index');
  cpSync(DOCS_FIXTURE, docs, { recursive: true });
});
afterEach(() => rmSync(workspace, { recursive: true, force: true }));

async function openWritable(): Promise<RetrievalIndex> {
  const { embedder, reranker } = await tinyModels();
  return RetrievalIndex.open({
    directory: indexDir,
    create: true,
    writable: true,
    embedder,
    reranker,
    clock: () => NOW,
  });
}

async function built(): Promise<RetrievalIndex> {
  const index = await openWritable();
  await ingest({ path: docs, index });
  return index;
}

describe('RetrievalIndex end to end on the fixture corpus', () => {
  it('ingests every loader format with JSONL ids as document ids', async () => {
    const index = await openWritable();
    const report = await ingest({ path: docs, index });
    expect(report).toMatchObject({ files: 7, added: 9, updated: 0, unchanged: 0, deleted: 0, generation: 1 });
    for (const id of ['guides/authentication.md', 'weather.html', 'pool.py', 'recipe-bread', 'recipe-cake']) {
      expect(index.store.document(id), id).not.toBeNull();
    }
    index.close();
  });

  it('finds the exact identifier and the concept in hybrid mode', async () => {
    const index = await built();
    const identifier = await index.search({ query: 'ERR_CONN_REFUSED_443', mode: 'hybrid', topK: 3 });
    expect(identifier.hits[0]?.documentId).toBe('guides/troubleshooting.md');
    expect(identifier.hits[0]?.scores.lexical?.rank).toBe(1);

    const concept = await index.search({ query: 'how does the login flow work', mode: 'hybrid', topK: 3 });
    expect(concept.hits.map((hit) => hit.documentId)).toContain('guides/authentication.md');
    const lexicalOnly = await index.search({ query: 'how does the login flow work', mode: 'lexical', topK: 3 });
    expect(lexicalOnly.hits.map((hit) => hit.documentId)).not.toContain('guides/authentication.md');
    index.close();
  });

  it('reports per-stage scores and reranks the fused candidates', async () => {
    const index = await built();
    const result = await index.search({
      query: 'refused connection on port 443',
      mode: 'rerank',
      topK: 4,
      rerankCandidates: 8,
    });
    expect(result.effectiveMode).toBe('rerank');
    expect(result.hits).toHaveLength(4);
    for (const [i, hit] of result.hits.entries()) {
      expect(hit.scores.rerank?.rank).toBe(i + 1);
      expect(hit.scores.fused?.rank).toBeLessThanOrEqual(8);
      expect(hit.score).toBe(hit.scores.rerank?.score);
    }
    expect(result.hits[0]?.documentId).toBe('guides/troubleshooting.md');
    expect(result.timings.totalMs).toBeGreaterThan(0);
    index.close();
  });

  it('applies metadata filters (equality, sets, date ranges) and still fills k', async () => {
    const index = await built();
    const finance = await index.search({ query: 'payments and invoices', filters: { team: 'finance' }, topK: 5 });
    expect(new Set(finance.hits.map((hit) => hit.documentId))).toEqual(new Set(['guides/billing.md']));

    const platform = await index.search({
      query: 'cooking',
      mode: 'vector',
      filters: { team: { in: ['platform'] } },
      topK: 2,
    });
    expect(platform.hits).toHaveLength(2);
    for (const hit of platform.hits) expect(hit.metadata.extra['team']).toBe('platform');

    const recent = await index.search({
      query: 'bake',
      mode: 'lexical',
      filters: { cuisine: 'french', last_modified: { gte: 'now-90d' } },
      topK: 5,
    });
    expect(recent.hits.map((hit) => hit.documentId)).toEqual(['recipe-bread']);
    const quick = await index.search({ query: 'soup bread cake', mode: 'lexical', filters: { minutes: { lte: 60 } } });
    expect(quick.hits.map((hit) => hit.documentId).sort()).toEqual(['recipe-cake', 'recipe-soup']);
    index.close();
  });

  it('replaces a changed document, skips unchanged ones and prunes deleted ones', async () => {
    const index = await built();
    const billing = join(docs, 'guides', 'billing.md');
    writeFileSync(billing, readFileSync(billing, 'utf8').replace('five\nto ten days', 'ZEBRA_REFUND_WINDOW days'));
    rmSync(join(docs, 'guides', 'deployment.md'));
    const before = index.store.counts();
    const report = await ingest({ path: docs, index });
    expect(report).toMatchObject({ added: 0, updated: 1, unchanged: 7, deleted: 1, generation: 2 });
    expect(index.store.document('guides/deployment.md')).toBeNull();
    expect(index.store.counts().documents).toBe(before.documents - 1);
    expect(index.bm25.size).toBe(index.store.counts().chunks);
    expect(index.hnsw?.size).toBe(index.store.counts().chunks);
    const found = await index.search({ query: 'ZEBRA_REFUND_WINDOW', mode: 'lexical' });
    expect(found.hits).toHaveLength(1);
    const gone = await index.search({ query: 'helm rollback kubernetes', mode: 'hybrid', topK: 10 });
    expect(gone.hits.map((hit) => hit.documentId)).not.toContain('guides/deployment.md');

    const again = await ingest({ path: docs, index });
    expect(again).toMatchObject({ added: 0, updated: 0, deleted: 0, unchanged: 8, generation: 2 });
    index.close();
  });

  it('reloads a saved snapshot read-only with identical results', async () => {
    const index = await built();
    const query = { query: 'session tokens and passwords', mode: 'hybrid' as const, topK: 5 };
    const expected = (await index.search(query)).hits.map((hit) => [hit.chunkId, hit.score]);
    index.close();
    const { embedder } = await tinyModels();
    const reader = await RetrievalIndex.open({ directory: indexDir, embedder });
    expect((await reader.search(query)).hits.map((hit) => [hit.chunkId, hit.score])).toEqual(expected);
    reader.close();
  });

  it('degrades to BM25 with a warning when the embedder is unavailable', async () => {
    (await built()).close();
    const reader = await RetrievalIndex.open({
      directory: indexDir,
      embedder: null,
      embedderError: 'model files missing',
    });
    const result = await reader.search({ query: 'ERR_CONN_REFUSED_443', mode: 'rerank' });
    expect(result.effectiveMode).toBe('lexical');
    expect(result.warnings.join(' ')).toMatch(/model files missing.*BM25/);
    expect(result.hits[0]?.documentId).toBe('guides/troubleshooting.md');
    reader.close();
  });

  it('detects corrupt, truncated and foreign files with a clear error', async () => {
    (await built()).close();
    const manifestPath = join(indexDir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      files: { hnsw: { name: string } };
      version: number;
    };
    const hnswPath = join(indexDir, manifest.files.hnsw.name);
    const bytes = readFileSync(hnswPath);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0xff;
    writeFileSync(hnswPath, bytes);
    await expect(RetrievalIndex.open({ directory: indexDir })).rejects.toThrow(
      /checksum mismatch for snapshots\/1\/hnsw\.bin/,
    );
    writeFileSync(hnswPath, bytes.subarray(0, 100));
    await expect(RetrievalIndex.open({ directory: indexDir })).rejects.toThrow(IndexCorruptError);
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, version: 99 }));
    await expect(RetrievalIndex.open({ directory: indexDir })).rejects.toThrow(/format version 99/);
    writeFileSync(manifestPath, '{"format": "switchyard-index", ');
    await expect(RetrievalIndex.open({ directory: indexDir })).rejects.toThrow(/not valid JSON/);
  });

  it('refuses to write with a different embedder, and degrades to BM25 when reading with one', async () => {
    (await built()).close();
    const other = await TransformersEmbedder.load({ model: TINY_EMBEDDER, offline: true, dimensions: 16 });
    await expect(RetrievalIndex.open({ directory: indexDir, writable: true, embedder: other })).rejects.toMatchObject({
      code: 'embedder_mismatch',
    });
    const reader = await RetrievalIndex.open({ directory: indexDir, embedder: other });
    const result = await reader.search({ query: 'ERR_CONN_REFUSED_443', mode: 'hybrid' });
    expect(result.effectiveMode).toBe('lexical');
    expect(result.warnings.join(' ')).toMatch(/16-d/);
    reader.close();
    await other.dispose();
  });

  it('allows one writer at a time', async () => {
    const index = await openWritable();
    await expect(openWritable()).rejects.toThrow(IndexLockedError);
    index.close();
    (await openWritable()).close();
  });
});
