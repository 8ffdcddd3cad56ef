// `switchyard ingest` and `switchyard query` through commander, in-process, on the generated models.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRetrievalCommands, type CliIo } from './cli.ts';
import { DOCS_FIXTURE, TINY_CROSS_ENCODER, TINY_EMBEDDER } from './testing/models.ts';

let workspace = '';
let docs = '';

beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  docs = join(workspace, 'docs');
  cpSync(DOCS_FIXTURE, docs, { recursive: true });
});
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => (out += text), err: (text) => (err += text), progress: false };
  const program = new Command('switchyard').exitOverride().configureOutput({ writeErr: () => undefined });
  registerRetrievalCommands(program, io);
  await program.parseAsync(['node', 'switchyard', ...args]);
  return { out, err };
}

describe('switchyard ingest / query', () => {
  it('reports a missing index or a bad filter as one clear error line and exit code 2', async () => {
    try {
      expect((await run('query', 'x', '--index', join(workspace, 'missing'))).err).toMatch(
        /^error: No index at .*missing\.\n$/,
      );
      expect(process.exitCode).toBe(2);
      const badFilter = await run(
        'query',
        'x',
        '--index',
        join(workspace, 'missing'),
        '--filter',
        '{"a":{"between":1}}',
      );
      expect(badFilter.err).toMatch(/^error: --filter a: /);
      expect((await run('query', 'x', '--filter', '{oops')).err).toMatch(/^error: --filter is not valid JSON/);
    } finally {
      process.exitCode = 0;
    }
  });

  it('ingests, then answers hybrid, rerank and lexical queries as JSON with per-stage scores', async () => {
    const ingested = await run(
      'ingest',
      docs,
      '--index',
      'kb',
      '--index-dir',
      join(workspace, 'indexes'),
      '--embedder',
      TINY_EMBEDDER,
      '--reranker',
      TINY_CROSS_ENCODER,
      '--offline',
      '--json',
    );
    expect(JSON.parse(ingested.out)).toMatchObject({ files: 7, added: 9, generation: 1 });

    const hybrid = await run(
      'query',
      'how does the login flow work',
      '--index',
      'kb',
      '--index-dir',
      join(workspace, 'indexes'),
      '--json',
      '--offline',
    );
    const hybridJson = JSON.parse(hybrid.out) as {
      results: { document_id: string; chunk_id: string; scores: object }[];
    };
    expect(hybridJson.results.map((result) => result.document_id)).toContain('guides/authentication.md');
    expect(hybridJson.results[0]?.chunk_id).toMatch(/#\d+$/);

    const reranked = await run(
      'query',
      'ERR_CONN_REFUSED_443',
      '--index',
      'kb',
      '--index-dir',
      join(workspace, 'indexes'),
      '--mode',
      'rerank',
      '--top-k',
      '2',
      '--json',
      '--offline',
    );
    const rerankJson = JSON.parse(reranked.out) as {
      effective_mode: string;
      results: { scores: Record<string, unknown> }[];
    };
    expect(rerankJson.effective_mode).toBe('rerank');
    expect(rerankJson.results).toHaveLength(2);
    expect(Object.keys(rerankJson.results[0]?.scores ?? {})).toContain('rerank');

    const filtered = await run(
      'query',
      'bread',
      '--index',
      'kb',
      '--index-dir',
      join(workspace, 'indexes'),
      '--mode',
      'lexical',
      '--filter',
      '{"cuisine":"french"}',
    );
    expect(filtered.out).toMatch(/^1\. recipe-bread#0/);

    const again = await run('ingest', docs, '--index', 'kb', '--index-dir', join(workspace, 'indexes'), '--offline');
    expect(again.out).toMatch(/0 added, 0 updated, 9 unchanged, 0 deleted/);
  });

  it('degrades to a BM25-only index when the embedder cannot be loaded offline', async () => {
    const result = await run(
      'ingest',
      docs,
      '--index',
      'plain',
      '--index-dir',
      join(workspace, 'indexes'),
      '--embedder',
      join(workspace, 'no-model'),
      '--offline',
    );
    expect(result.err).toMatch(/embedder unavailable.*missing/);
    const query = await run(
      'query',
      'ERR_CONN_REFUSED_443',
      '--index',
      'plain',
      '--index-dir',
      join(workspace, 'indexes'),
      '--json',
    );
    const json = JSON.parse(query.out) as { effective_mode: string; results: { document_id: string }[] };
    expect(json.effective_mode).toBe('lexical');
    expect(json.results[0]?.document_id).toBe('guides/troubleshooting.md');
  });
});
