// A replica follows snapshots published by the one writer without failing or pausing queries: `switchyard ingest`
// (a real child process) publishes a new generation while HTTP queries run without a break against the retrieval
// service; the replica loads it in the background, swaps, and the new documents become visible. A snapshot that
// cannot be loaded leaves the old one serving and is reported. Superseded generations are removed after the grace.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeUnreferenced, readManifest } from '../persistence/snapshot.ts';
import type { SnapshotEvent } from './index-registry.ts';
import { createRetrievalService, type RetrievalService } from './service.ts';

const CLI = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));
const DOCUMENTS = 1_500;
/**
 * The longest a query may take while a snapshot loads beside it, generous for a shared, loaded 2-core machine (the
 * test prints the figures before and during). A reload on the query path would hold queries for the whole load.
 */
const PAUSE_BOUND_MS = 1_000;

let workspace = '';
let service: RetrievalService;
let server: Server;
let baseUrl = '';
const events: SnapshotEvent[] = [];
/** performance.now() when each event arrived. */
const eventTimes: number[] = [];

function writeCorpus(directory: string, prefix: string, count: number, extra = ''): void {
  mkdirSync(directory, { recursive: true });
  const words = [
    'router',
    'replica',
    'snapshot',
    'kernel',
    'budget',
    'socket',
    'oven',
    'storm',
    'cache',
    'token',
    'session',
    'prefix',
  ];
  for (let i = 0; i < count; i += 1) {
    const body = Array.from({ length: 60 }, (_, word) => words[(i * 7 + word * 3) % words.length]).join(' ');
    writeFileSync(
      join(directory, `${prefix}-${String(i).padStart(5, '0')}.md`),
      `# ${prefix} ${i}\n\n${body} term${i} ${extra}\n`,
    );
  }
}

function runIngest(docs: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'ingest',
        docs,
        '--index',
        'kb',
        '--index-dir',
        join(workspace, 'indexes'),
        '--no-embedder',
        '--checkpoint-every',
        '100000',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`ingest exited ${code}: ${output}`))));
  });
}

async function query(text: string): Promise<{ status: number; ms: number; documents: string[] }> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/v1/retrieve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ index: 'kb', query: text, mode: 'lexical', top_k: 3 }),
  });
  const body = (await response.json()) as { data?: { document_id?: string; documentId?: string }[] };
  const documents = (body.data ?? []).map((hit) => hit.document_id ?? hit.documentId ?? '');
  return { status: response.status, ms: performance.now() - started, documents };
}

/** Queries with `workers` concurrent clients until `stop()` says so; every answer's status and latency is kept. */
interface LoopResult {
  statuses: number[];
  latencies: number[];
  /** [start, end] of each query, performance.now() milliseconds. */
  spans: [number, number][];
}

async function queryLoop(workers: number, stop: () => boolean): Promise<LoopResult> {
  const statuses: number[] = [];
  const latencies: number[] = [];
  const spans: [number, number][] = [];
  const deadline = performance.now() + 120_000;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; !stop() && performance.now() < deadline; i += 1) {
        const started = performance.now();
        const result = await query(`snapshot kernel term${(worker * 97 + i) % DOCUMENTS}`);
        statuses.push(result.status);
        latencies.push(result.ms);
        spans.push([started, performance.now()]);
      }
    }),
  );
  return { statuses, latencies, spans };
}

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-swap-'));
  writeCorpus(join(workspace, 'docs'), 'doc', DOCUMENTS);
  await runIngest(join(workspace, 'docs'));
  service = await createRetrievalService({
    indexRoot: join(workspace, 'indexes'),
    embedder: null,
    reranker: null,
    offline: true,
    snapshots: {
      pollMs: 100,
      retireMs: 2_000,
      retryMs: 200,
      onEvent: (event) => eventTimes.push(performance.now()) && events.push(event),
    },
  });
  const app = express();
  app.use(express.json());
  app.use(service.router);
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  baseUrl = `http://127.0.0.1:${address.port}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await service?.close();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

describe('a replica swaps to a published snapshot without failing or pausing queries', () => {
  it('answers every query during the swap, within the pause bound, and then sees the new documents', async () => {
    expect((await query('term7')).status).toBe(200);
    const before = service.snapshotStatus()[0];
    expect(before).toMatchObject({ index: 'kb', generation: 1, lastError: null });

    const warmUpUntil = performance.now() + 1_000;
    await queryLoop(4, () => performance.now() > warmUpUntil);
    const baselineUntil = performance.now() + 3_000;
    const baseline = await queryLoop(4, () => performance.now() > baselineUntil);

    // The writer publishes generation 2 with 300 more documents while queries keep running.
    writeCorpus(join(workspace, 'docs'), 'added', 300, 'zebrafinch');
    let swappedAt = 0;
    const ingesting = runIngest(join(workspace, 'docs'));
    const during = await queryLoop(4, () => {
      if (swappedAt === 0 && events.some((event) => event.type === 'swapped')) swappedAt = performance.now();
      return swappedAt !== 0 && performance.now() - swappedAt > 300;
    });
    await ingesting;

    const swapIndex = events.findIndex((event) => event.type === 'swapped');
    const swap = events[swapIndex];
    expect(swap).toMatchObject({ type: 'swapped', index: 'kb', from: 1, to: 2 });
    const loadMs = swap?.type === 'swapped' ? swap.loadMs : 0;
    const loadEnd = eventTimes[swapIndex] ?? 0;
    // Queries that overlapped the background load and the swap.
    const overlapping = during.spans.flatMap(([start, end], i) =>
      end >= loadEnd - loadMs && start <= loadEnd ? [during.latencies[i] ?? 0] : [],
    );
    const maxBefore = Math.max(...baseline.latencies);
    const maxDuring = Math.max(...during.latencies);
    const maxLoad = Math.max(...overlapping);
    console.log(
      `[snapshot-swap] ${baseline.latencies.length} queries before: max ${maxBefore.toFixed(1)} ms; ${during.latencies.length} during ingest + swap: ` +
        `max ${maxDuring.toFixed(1)} ms; ${overlapping.length} overlapping the ${loadMs} ms background load: max ${maxLoad.toFixed(1)} ms; ` +
        `${during.statuses.filter((status) => status !== 200).length} failed`,
    );
    expect(baseline.statuses.every((status) => status === 200)).toBe(true);
    expect(during.statuses.length).toBeGreaterThan(20);
    expect(during.statuses.every((status) => status === 200)).toBe(true);
    expect(overlapping.length).toBeGreaterThan(0);
    expect(maxLoad).toBeLessThan(PAUSE_BOUND_MS);

    const found = await query('zebrafinch');
    expect(found.documents.some((id) => id.startsWith('added-'))).toBe(true);
    expect(service.snapshotStatus()[0]).toMatchObject({ generation: 2, swaps: 1, lastError: null });
  }, 180_000);

  it('keeps serving the old snapshot when a new one fails to load, reports it, and recovers', async () => {
    const directory = join(workspace, 'indexes', 'kb');
    const manifestPath = join(directory, 'manifest.json');
    const good = readFileSync(manifestPath, 'utf8');
    const manifest = JSON.parse(good) as { generation: number; files: { bm25: { sha256: string } } };
    // A manifest whose BM25 checksum does not match its file: the kind of snapshot a replica must refuse.
    writeFileSync(
      manifestPath,
      JSON.stringify({
        ...manifest,
        generation: manifest.generation + 1,
        files: { ...manifest.files, bm25: { ...manifest.files.bm25, sha256: '0'.repeat(64) } },
      }),
    );
    const deadline = Date.now() + 20_000;
    while (!events.some((event) => event.type === 'load_failed') && Date.now() < deadline) {
      expect((await query('zebrafinch')).status).toBe(200);
    }
    expect(events.find((event) => event.type === 'load_failed')).toMatchObject({
      index: 'kb',
      serving: 2,
      error: expect.stringMatching(/checksum mismatch/),
    });
    expect(service.snapshotStatus()[0]).toMatchObject({
      generation: 2,
      loadFailures: 1,
      lastError: expect.stringMatching(/checksum mismatch/),
    });
    const still = await query('zebrafinch');
    expect(still.status).toBe(200);
    expect(still.documents.some((id) => id.startsWith('added-'))).toBe(true);

    // The writer (which refuses a corrupt index too) publishes a good snapshot: the replica swaps, the failure clears.
    writeFileSync(manifestPath, good);
    writeCorpus(join(workspace, 'docs'), 'third', 10, 'kingfisher');
    await runIngest(join(workspace, 'docs'));
    const recovered = Date.now() + 20_000;
    while ((service.snapshotStatus()[0]?.lastError ?? null) !== null && Date.now() < recovered)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(service.snapshotStatus()[0]).toMatchObject({ generation: 3, lastError: null, loadFailures: 1 });
    expect((await query('kingfisher')).documents.some((id) => id.startsWith('third-'))).toBe(true);
  }, 120_000);

  it('the writer removes a superseded generation only after the grace period', () => {
    const directory = join(workspace, 'indexes', 'kb');
    const manifest = readManifest(directory);
    expect(manifest?.generation).toBe(3);
    // Generation 2 was superseded when 3 was published (its directory's mtime); 1 when 2 was.
    const publishedAt = (generation: number): number => {
      const at = new Date(Date.now() - (generation === 3 ? 10_000 : 50_000));
      utimesSync(join(directory, 'snapshots', String(generation)), at, at);
      return at.getTime();
    };
    const third = publishedAt(3);
    publishedAt(2);
    const generations = (): string[] => readdirSync(join(directory, 'snapshots')).sort();
    const before = generations();
    expect(before).toContain('2');
    removeUnreferenced(directory, manifest, { graceMs: 30_000, now: () => third + 5_000 });
    expect(generations()).toEqual(before.filter((name) => name !== '1'));
    removeUnreferenced(directory, manifest, { graceMs: 30_000, now: () => third + 30_000 });
    expect(generations()).toEqual(['3']);
  });
});
