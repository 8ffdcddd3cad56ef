// Bundle the vLLM stand-in (simulator + its npm dependencies) into one ESM file with esbuild, plus tiktoken's WASM
// beside it: what the FROM-scratch test image runs, and what the local driver spawns (node starts a bundle in a
// fraction of the time tsx needs to compile the sources).
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ENTRY = fileURLToPath(new URL('./vllm-standin.ts', import.meta.url));
export const BUNDLE_NAME = 'vllm-standin.mjs';
export const WASM_NAME = 'tiktoken_bg.wasm';

// CommonJS dependencies inside an ESM bundle still use require/__dirname (tiktoken finds its WASM through __dirname).
const BANNER = [
  "import { createRequire as __switchyardCreateRequire } from 'node:module';",
  "import { fileURLToPath as __switchyardFileURLToPath } from 'node:url';",
  "import { dirname as __switchyardDirname } from 'node:path';",
  'const require = __switchyardCreateRequire(import.meta.url);',
  'const __filename = __switchyardFileURLToPath(import.meta.url);',
  'const __dirname = __switchyardDirname(__filename);',
].join('\n');

export interface StandinBundle {
  dir: string;
  file: string;
}

/** Write `<outDir>/vllm-standin.mjs` and `<outDir>/tiktoken_bg.wasm`. */
export async function bundleStandin(outDir: string): Promise<StandinBundle> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, BUNDLE_NAME);
  await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: file,
    banner: { js: BANNER },
    logLevel: 'error',
    legalComments: 'none',
  });
  const require = createRequire(import.meta.url);
  copyFileSync(require.resolve(`tiktoken/${WASM_NAME}`), join(outDir, WASM_NAME));
  return { dir: outDir, file };
}

const memo = new Map<string, Promise<StandinBundle>>();

/** Bundle once per directory per process. */
export function bundleStandinOnce(outDir: string): Promise<StandinBundle> {
  let pending = memo.get(outDir);
  if (!pending) {
    pending = bundleStandin(outDir);
    memo.set(outDir, pending);
  }
  return pending;
}
