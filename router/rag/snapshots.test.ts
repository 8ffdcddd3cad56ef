// A router replica reports the retrieval snapshot it serves: /health names each open index's generation and the
// last load failure, /metrics carries the generation, swaps, load failures and a stale flag. The writer here is
// retrieval's programmatic API in the test process, as `switchyard ingest` would be on another host.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../../retrieval/ingest.ts';
import { RetrievalIndex } from '../../retrieval/retrieval-index.ts';
import { FAST_SCHEDULING, startReplicas, startTestRouter, vllmPool, type TestRouter } from '../testing/harness.ts';

let workspace = '';
let harness: TestRouter;

interface Health {
  status: string;
  retrieval?: {
    snapshots: { index: string; generation: number; swaps: number; loadFailures: number; lastError: string | null }[];
  };
}

async function publish(documents: Record<string, string>): Promise<void> {
  const docs = join(workspace, 'docs');
  mkdirSync(docs, { recursive: true });
  for (const [name, text] of Object.entries(documents)) writeFileSync(join(docs, name), text);
  const writer = await RetrievalIndex.open({
    directory: join(workspace, 'indexes', 'kb'),
    create: true,
    writable: true,
    embedder: null,
  });
  await ingest({ path: docs, index: writer });
  writer.close();
}

async function health(): Promise<Health> {
  return (await (await fetch(`${harness.router.url}/health`)).json()) as Health;
}

async function until(condition: (value: Health) => boolean): Promise<Health> {
  const deadline = Date.now() + 20_000;
  let value = await health();
  while (!condition(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await health();
  }
  return value;
}

async function retrieve(query: string): Promise<string[]> {
  const response = await fetch(`${harness.router.url}/v1/retrieve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ index: 'kb', query, mode: 'lexical' }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { document_id: string }[] }).data.map((hit) => hit.document_id);
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-snapshots-'));
  await publish({ 'alpha.md': '# Alpha\n\nThe alpha document talks about sockets.\n' });
  const replicas = await startReplicas([{ model: 'llama-3.1-8b' }]);
  harness = await startTestRouter(
    {
      pools: [vllmPool('pool', replicas)],
      models: [{ name: 'llama-3.1-8b', route: ['pool'] }],
      scheduling: FAST_SCHEDULING,
      retrieval: {
        enabled: true,
        indexRoot: join(workspace, 'indexes'),
        embedder: null,
        reranker: null,
        offline: true,
        preload: false,
        snapshotPollMs: 100,
      },
    },
    {},
    replicas,
  );
}, 60_000);

afterAll(async () => {
  await harness?.close();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

describe('retrieval snapshots on /health and /metrics', () => {
  it('follows a published snapshot and reports a failed one while the previous keeps serving', async () => {
    expect(await health()).toEqual({ status: 'ok' });
    expect(await retrieve('alpha sockets')).toEqual(['alpha.md']);
    expect((await health()).retrieval?.snapshots).toEqual([
      expect.objectContaining({ index: 'kb', generation: 1, swaps: 0, lastError: null }),
    ]);

    await publish({ 'beta.md': '# Beta\n\nThe beta document talks about ovens.\n' });
    const swapped = await until((value) => value.retrieval?.snapshots[0]?.generation === 2);
    expect(swapped.retrieval?.snapshots[0]).toMatchObject({ generation: 2, swaps: 1, loadFailures: 0 });
    expect(await retrieve('beta ovens')).toEqual(['beta.md']);

    // A manifest naming a file that is not there: the replica refuses it and keeps answering from generation 2.
    const manifestPath = join(workspace, 'indexes', 'kb', 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      generation: number;
      files: { store: { name: string } };
    };
    writeFileSync(
      manifestPath,
      JSON.stringify({
        ...manifest,
        generation: 3,
        files: { ...manifest.files, store: { ...manifest.files.store, name: 'snapshots/3/store.sqlite' } },
      }),
    );
    const failed = await until((value) => (value.retrieval?.snapshots[0]?.loadFailures ?? 0) > 0);
    expect(failed.status).toBe('ok');
    expect(failed.retrieval?.snapshots[0]).toMatchObject({
      generation: 2,
      loadFailures: 1,
      lastError: expect.stringMatching(/snapshots\/3\/store\.sqlite is missing/),
    });
    expect(await retrieve('beta ovens')).toEqual(['beta.md']);

    const metrics = await (await fetch(`${harness.router.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_retrieval_snapshot_generation\{index="kb"\} 2/);
    expect(metrics).toMatch(/switchyard_retrieval_snapshot_swaps_total\{index="kb"\} 1/);
    expect(metrics).toMatch(/switchyard_retrieval_snapshot_load_failures_total\{index="kb"\} 1/);
    expect(metrics).toMatch(/switchyard_retrieval_snapshot_stale\{index="kb"\} 1/);
  }, 60_000);
});
