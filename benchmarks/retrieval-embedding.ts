// Embedding throughput through the pipeline (TransformersEmbedder: tokenise, run, mean-pool, normalise) vs a raw
// onnxruntime session.run on the same pre-tokenised batches (the baseline, same run, alternating rounds, best of each).
// Target: pipeline ≥ 0.9× raw. Uses a random MiniLM-L6-shaped model (384 hidden, 6 layers) generated into the temp
// folder with Debian's python3-onnx when available; otherwise the committed tiny model (a much harsher ratio, since
// tokenisation then dominates).
//
//   npx tsx benchmarks/retrieval-embedding.ts [--texts 256] [--batch 32] [--rounds 2] [--tiny]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TransformersEmbedder } from '../retrieval/models/embedder.ts';
import { OnnxEmbedder, type EncodedBatch } from '../retrieval/models/onnx-embedder.ts';
import { seededRandom } from '../retrieval/testing/random.ts';
import { flag, hasFlag, round } from './retrieval-shared.ts';

const textCount = flag('texts', 256);
const batchSize = flag('batch', 32);
const rounds = flag('rounds', 2);
const retrieval = join(import.meta.dirname, '..', 'retrieval');

function modelFolder(): { folder: string; label: string } {
  const tiny = join(retrieval, 'models', 'fixtures', 'tiny-bert-embedder');
  if (hasFlag('tiny')) return { folder: tiny, label: 'tiny fixture (hidden 32, 2 layers)' };
  const out = join(tmpdir(), 'switchyard-minilm-shaped');
  const folder = join(out, 'tiny-bert-embedder');
  if (!existsSync(join(folder, 'onnx', 'model.onnx'))) {
    try {
      execFileSync(
        '/usr/bin/python3',
        [
          join(retrieval, 'models', 'generator', 'generate_tiny_models.py'),
          out,
          '--hidden',
          '384',
          '--layers',
          '6',
          '--heads',
          '12',
          '--intermediate',
          '1536',
          '--max-positions',
          '512',
          '--only',
          'embedder',
        ],
        { stdio: 'inherit' },
      );
    } catch {
      console.log('python3-onnx unavailable: falling back to the tiny fixture model');
      return { folder: tiny, label: 'tiny fixture (hidden 32, 2 layers)' };
    }
  }
  return { folder, label: 'random MiniLM-L6 shape (hidden 384, 6 layers, 12 heads)' };
}

const words =
  'the user login password session token network connection port timeout database query table deploy cluster pod billing invoice payment bread oven rain storm search ranking vector document chunk function class method'.split(
    ' ',
  );
const random = seededRandom(3);
const texts = Array.from({ length: textCount }, () =>
  Array.from({ length: 20 + Math.floor(random() * 100) }, () => words[Math.floor(random() * words.length)]).join(' '),
).sort((a, b) => a.length - b.length); // the pipeline sorts by length too: both sides see the same batches

const { folder, label } = modelFolder();
console.log(`Embedding throughput: ${textCount} texts (20-120 words), batch ${batchSize}, model: ${label}`);
const pipelineEmbedder = await TransformersEmbedder.load({ model: folder, offline: true, batchSize });
const raw = await OnnxEmbedder.load({ model: folder, offline: true, batchSize });
const batches: EncodedBatch[] = [];
for (let first = 0; first < texts.length; first += batchSize)
  batches.push(raw.encode(texts.slice(first, first + batchSize)));

async function timeRaw(): Promise<number> {
  const started = performance.now();
  for (const batch of batches) await raw.session.run(batch.feeds);
  return textCount / ((performance.now() - started) / 1000);
}
async function timePipeline(): Promise<number> {
  const started = performance.now();
  await pipelineEmbedder.embed(texts, 'document');
  return textCount / ((performance.now() - started) / 1000);
}

await timeRaw();
await timePipeline();
let bestRaw = 0;
let bestPipeline = 0;
for (let round_ = 0; round_ < rounds; round_ += 1) {
  bestRaw = Math.max(bestRaw, await timeRaw());
  bestPipeline = Math.max(bestPipeline, await timePipeline());
}
console.table([
  { path: 'raw session.run (pre-tokenised, baseline)', 'texts/s': round(bestRaw, 1) },
  { path: 'pipeline (tokenise + run + pool + normalise)', 'texts/s': round(bestPipeline, 1) },
]);
const ratio = bestPipeline / bestRaw;
console.log(`pipeline / raw = ${round(ratio, 3)}× (target ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'})`);
await pipelineEmbedder.dispose();
await raw.dispose();
