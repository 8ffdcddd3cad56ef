// Crash safety with real child processes killed by SIGKILL: in the middle of an ingest (between checkpoints) and in
// the middle of a save (new data files written, manifest not yet switched). The previous snapshot must load, be
// consistent, and lose nothing; a rerun resumes and completes without duplicates.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../ingest.ts';
import { RetrievalIndex } from '../retrieval-index.ts';
import { tinyModels } from '../testing/models.ts';

const CHILD = join(import.meta.dirname, '..', 'testing', 'crash-child.ts');
const DOCUMENTS = 30;
let workspace = '';
let docs = '';
let indexDir = '';

beforeEach(() => {
  workspace = mkdtempSync(join(tmpdir(), 'switchyard-crash-'));
  docs = join(workspace, 'docs');
  indexDir = join(workspace, 'index');
  mkdirSync(docs);
  const topics = ['login password session', 'socket port timeout', 'oven bread flour', 'rain storm wind'];
  for (let i = 0; i < DOCUMENTS; i += 1) {
    const topic = topics[i % topics.length] as string;
    writeFileSync(
      join(docs, `doc-${String(i).padStart(3, '0')}.md`),
      `# Note ${i}\n\nDocument number${i} about ${topic}.\n`,
    );
  }
});
afterEach(() => rmSync(workspace, { recursive: true, force: true }));

interface ChildRun {
  savedGeneration: number;
  savedDocuments: string[];
  output: string;
}

/** Runs the child and SIGKILLs it as soon as `killWhen` says so; resolves after it died. */
function runChild(args: string[], killWhen: (lines: string[]) => boolean): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, indexDir, docs, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.stdout.on('data', (data: Buffer) => {
      buffer += data.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts);
      if (killWhen(lines)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`child was not killed (code ${code}, signal ${signal}): ${stderr}\n${lines.join('\n')}`));
        return;
      }
      let savedGeneration = 0;
      let savedDocuments: string[] = [];
      for (const line of lines) {
        const match = /^saved (\d+) (.*)$/.exec(line);
        if (match) {
          savedGeneration = Number(match[1]);
          savedDocuments = JSON.parse(match[2] as string) as string[];
        }
      }
      resolve({ savedGeneration, savedDocuments, output: lines.join('\n') });
    });
  });
}

async function expectConsistentSnapshot(run: ChildRun): Promise<RetrievalIndex> {
  const { embedder } = await tinyModels();
  const index = await RetrievalIndex.open({ directory: indexDir, embedder });
  expect(index.generation).toBeGreaterThanOrEqual(run.savedGeneration);
  const counts = index.store.counts();
  expect(index.bm25.size).toBe(counts.chunks);
  expect(index.hnsw?.size).toBe(counts.chunks);
  for (const id of run.savedDocuments) expect(index.store.document(id), id).not.toBeNull();
  return index;
}

async function resumeAndFinish(expectedUnchangedAtLeast: number): Promise<void> {
  const { embedder } = await tinyModels();
  // No grace period: superseded generations are removed as soon as the next one is published.
  const index = await RetrievalIndex.open({ directory: indexDir, writable: true, embedder, snapshotGraceMs: 0 });
  const report = await ingest({ path: docs, index, chunker: 'recursive' });
  expect(report.unchanged).toBeGreaterThanOrEqual(expectedUnchangedAtLeast);
  expect(report.added + report.unchanged).toBe(DOCUMENTS);
  expect(index.store.counts()).toEqual({ documents: DOCUMENTS, chunks: DOCUMENTS });
  const hit = await index.search({ query: 'number27', mode: 'lexical', topK: 3 });
  expect(hit.hits.map((entry) => entry.documentId)).toEqual(['doc-027.md']);
  // Leftovers of the killed save (temporary files, the unreferenced generation) are gone.
  expect(readdirSync(indexDir).filter((name) => name.includes('.tmp-'))).toEqual([]);
  index.close();
}

describe('crash safety (real child process, SIGKILL)', () => {
  it('keeps the last snapshot when killed mid-ingest, and a rerun resumes', async () => {
    const run = await runChild(['0', '25'], (lines) => {
      const saves = lines.filter((line) => line.startsWith('saved ')).length;
      const docsAfterSave = lines.length - 1 - lines.findLastIndex((line) => line.startsWith('saved '));
      return saves >= 2 && docsAfterSave >= 2;
    });
    expect(run.savedGeneration).toBeGreaterThanOrEqual(2);
    const index = await expectConsistentSnapshot(run);
    expect(index.store.counts().documents).toBeLessThan(DOCUMENTS);
    index.close();
    await resumeAndFinish(run.savedDocuments.length);
  }, 90_000);

  it('keeps the previous snapshot when killed in the middle of a save', async () => {
    const run = await runChild(['3', '0'], (lines) => lines.includes('pausing-in-save'));
    expect(run.savedGeneration).toBe(2);
    // The killed save had written generation 3's store and BM25 files, but never switched the manifest.
    expect(existsSync(join(indexDir, 'snapshots', '3', 'store.sqlite'))).toBe(true);
    const index = await expectConsistentSnapshot(run);
    expect(index.generation).toBe(2);
    expect(index.store.counts().documents).toBe(run.savedDocuments.length);
    index.close();
    await resumeAndFinish(run.savedDocuments.length);
    // The rerun removed the orphaned generation 3, wrote its own, and removed generation 2.
    const reopened = await RetrievalIndex.open({ directory: indexDir });
    expect(reopened.generation).toBe(3);
    reopened.close();
    expect(readdirSync(join(indexDir, 'snapshots'))).toEqual(['3']);
  }, 90_000);
});
