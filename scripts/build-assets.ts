// Second half of `npm run build`: tsc emits the JavaScript into dist/; this copies the data files the code opens
// beside itself (price tables, fixtures, ONNX test models, dashboards, manifests) so dist/ mirrors the source tree and
// every `new URL('./file', import.meta.url)` resolves the same way from the build as from the sources.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = join(ROOT, 'dist');
const SOURCE_FOLDERS = ['bin', 'core', 'router', 'retrieval', 'deploy', 'models', 'benchmarks', 'evals'];
// Compiled by tsc (or the bin/ launcher), documentation, generators and screenshots: not read by the running code.
const SKIPPED_EXTENSIONS = new Set(['.ts', '.js', '.md', '.py', '.png']);
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'results', '.switchyard']);

function copyAssets(directory: string): number {
  let copied = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRECTORIES.has(entry.name)) copied += copyAssets(path);
    } else if (entry.isFile() && !SKIPPED_EXTENSIONS.has(extname(entry.name))) {
      cpSync(path, join(OUT, relative(ROOT, path)), { preserveTimestamps: true });
      copied += 1;
    }
  }
  return copied;
}

let total = 0;
for (const folder of SOURCE_FOLDERS) {
  if (statSync(join(ROOT, folder), { throwIfNoEntry: false })?.isDirectory()) total += copyAssets(join(ROOT, folder));
}
console.log(`dist/: ${total} data files copied beside the compiled JavaScript`);
