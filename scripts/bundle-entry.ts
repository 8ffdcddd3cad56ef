// Last step of `npm run build`: bundles the process entry (dist/bin/main.js, what `npm start` and the router image
// run) with esbuild, in place, from tsc's JavaScript. One start then reads a few files instead of ~300 modules of
// our own and ~400 of express, zod and the rest (each resolved, read and compiled on its own), and dead code is
// dropped. What a command loads only when configured stays lazy: every dynamic `import()` becomes its own chunk
// (dist/bin/chunks/), loaded when that code runs, as before. `bin/switchyard.js` keeps running dist/bin/cli.js, so the
// unbundled build stays usable, and vitest runs the sources.
//
// Packages with native addons, WASM or data files they find beside themselves (and the large ones loaded only when
// configured) stay outside the bundle and load from node_modules as before.
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const OUT_DIR = join(DIST, 'bin');
const CHUNKS = 'chunks';

/** Pure-JavaScript packages the router loads at start: bundled. Every other package stays in node_modules. */
const BUNDLED_PACKAGES = new Set([
  'ajv',
  'ajv-formats',
  'commander',
  'express',
  'prom-client',
  'undici',
  'yaml',
  'zod',
  '@opentelemetry/api',
]);

const packageName = (specifier: string): string => {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
};

/**
 * Our own modules open files beside themselves (`new URL('./prices.yaml', import.meta.url)`) and check whether they
 * run compiled (`import.meta.url.endsWith('.ts')`): each module's `import.meta.url` is rewritten to its own place in
 * dist/, which still holds every data file and the unbundled JavaScript (child-process entries).
 */
const ownModuleUrls: Plugin = {
  name: 'own-module-urls',
  setup(context) {
    context.onLoad({ filter: /\/dist\/.*\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
      const fromChunk = relative(join(OUT_DIR, CHUNKS), args.path).split('\\').join('/');
      const fromEntry = relative(OUT_DIR, args.path).split('\\').join('/');
      // The same module may land in the entry file or in a chunk; both sit at known places in dist/bin/.
      const url =
        `(import.meta.url.includes('/${CHUNKS}/') ? new URL(${JSON.stringify(fromChunk)}, import.meta.url).href` +
        ` : new URL(${JSON.stringify(fromEntry)}, import.meta.url).href)`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * The entry is bin/main.ts's two lines over tsc's dist/bin/cli.js, not tsc's dist/bin/main.js: that file is replaced
 * by the bundle, and an incremental tsc run does not write it again.
 */
const entry: Plugin = {
  name: 'entry',
  setup(context) {
    context.onResolve({ filter: /^switchyard-entry$/ }, () => ({ path: 'main', namespace: 'switchyard-entry' }));
    context.onLoad({ filter: /.*/, namespace: 'switchyard-entry' }, () => ({
      contents: "import { main } from './cli.js';\nawait main(process.argv);\n",
      loader: 'js',
      resolveDir: OUT_DIR,
    }));
  },
};

/** Other packages' bare specifiers stay imports, resolved from node_modules at run time. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(context) {
    context.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path === 'switchyard-entry') return undefined;
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      // A bundled package's own dependencies are bundled with it (esbuild never reads an external package's files).
      const bundled = BUNDLED_PACKAGES.has(packageName(args.path)) || args.importer.includes('/node_modules/');
      return bundled ? undefined : { path: args.path, external: true };
    });
  },
};

// CommonJS packages inside an ESM bundle still call require() for node's built-ins.
const BANNER = [
  "import { createRequire as __switchyardCreateRequire } from 'node:module';",
  'const require = __switchyardCreateRequire(import.meta.url);',
].join('\n');

rmSync(join(OUT_DIR, CHUNKS), { recursive: true, force: true });
const result = await build({
  entryPoints: [{ in: 'switchyard-entry', out: 'main' }],
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: OUT_DIR,
  chunkNames: `${CHUNKS}/[name]-[hash]`,
  allowOverwrite: true,
  banner: { js: BANNER },
  plugins: [entry, externalPackages, ownModuleUrls],
  logLevel: 'error',
  legalComments: 'none',
  // V8 keeps each loaded file's source text in the heap: no whitespace or comments in it. Names stay (stack traces).
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
});
const outputs = Object.keys(result.metafile.outputs).length;
console.log(`dist/bin/main.js: bundled with esbuild (${outputs - 1} lazily loaded chunks in dist/bin/${CHUNKS}/)`);
