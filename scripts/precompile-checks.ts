// Part of `npm run build`: the request checks of core/openai-schemas.ts (the pass-through schemas' JSON Schemas,
// compiled by ajv with the same options) as ajv's standalone code, written beside the compiled module. The compiled
// router loads these instead of loading ajv and compiling at start-up; the sources still compile on first use.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import {
  CHECK_AJV_OPTIONS,
  PASS_THROUGH_BY_NAME,
  PRECOMPILED_CHECKS_FILE,
  checkJsonSchema,
} from '../core/openai-schemas.ts';

/** CommonJS source exporting one validate function per pass-through schema name. */
export function precompiledChecksSource(): string {
  const ajv = new Ajv({ ...CHECK_AJV_OPTIONS, code: { source: true } });
  const names: Record<string, string> = {};
  for (const [name, schema] of Object.entries(PASS_THROUGH_BY_NAME)) {
    ajv.addSchema(checkJsonSchema(schema), name);
    names[name] = name;
  }
  // CommonJS module interop: the function is the module's `default` export.
  return standalone.default(ajv, names);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = join(fileURLToPath(new URL('../dist/core/', import.meta.url)), PRECOMPILED_CHECKS_FILE);
  writeFileSync(file, precompiledChecksSource());
  console.log(`dist/core/${PRECOMPILED_CHECKS_FILE}: request checks precompiled`);
}
