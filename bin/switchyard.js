#!/usr/bin/env node
// The `switchyard` command. It runs the compiled build (dist/, made by `npm run build`) with plain node. A checkout
// without a build, or SWITCHYARD_FROM_SOURCE=1 (set by the test runner, so tests always run the current sources),
// runs the TypeScript sources through tsx instead, which is a devDependency.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/bin/cli.js', import.meta.url);
const fromSource = process.env.SWITCHYARD_FROM_SOURCE === '1' || !existsSync(compiled);

if (fromSource) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('switchyard: no build in dist/ and no tsx to run the sources: run `npm run build` first\n');
    process.exit(1);
  }
  register();
  const { main } = await import('./cli.ts');
  await main(process.argv);
} else {
  const { main } = await import(compiled.href);
  await main(process.argv);
}
