// Child process for the crash-safety tests: ingests a directory with frequent checkpoints and reports progress on
// stdout so the parent can SIGKILL it at a chosen point. Usage:
//   tsx crash-child.ts <index-dir> <docs-dir> <pause-in-save-generation|0> <per-document-delay-ms>
// When pause-in-save-generation is g > 0, the save of generation g stops after its BM25 file is durably written (the
// new store and BM25 files exist, the manifest still names g - 1) and prints "pausing-in-save".
import { ingest } from '../ingest.ts';
import { TransformersEmbedder } from '../models/embedder.ts';
import { RetrievalIndex } from '../retrieval-index.ts';
import { TINY_EMBEDDER } from './models.ts';

const [indexDir, docsDir, pauseGeneration = '0', delay = '0'] = process.argv.slice(2);
if (indexDir === undefined || docsDir === undefined)
  throw new Error('usage: crash-child <index-dir> <docs-dir> [g] [ms]');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);

const embedder = await TransformersEmbedder.load({ model: TINY_EMBEDDER, offline: true });
const index = await RetrievalIndex.open({ directory: indexDir, create: true, writable: true, embedder });
const done: string[] = [];
await ingest({
  path: docsDir,
  index,
  chunker: 'recursive',
  checkpointEvery: 5,
  onDocument: (event) => {
    done.push(event.documentId);
    process.stdout.write(`doc ${event.documentId} ${event.status}\n`);
    sleep(Number(delay));
  },
  saveHook: (step) => {
    const generation = index.generation + 1;
    if (step === 'manifest') process.stdout.write(`saved ${generation} ${JSON.stringify(done)}\n`);
    if (step === 'bm25' && generation === Number(pauseGeneration)) {
      process.stdout.write('pausing-in-save\n');
      sleep(60_000);
    }
  },
});
process.stdout.write('finished\n');
index.close();
