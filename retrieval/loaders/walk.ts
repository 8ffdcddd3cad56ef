// Directory walk with include/exclude globs (fast-glob), yielding files in a stable (sorted) order with the
// document id each should get: the path relative to the ingest root, with forward slashes.
import { statSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import fg from 'fast-glob';
import { formatOf } from './loaders.ts';

export const DEFAULT_INCLUDE = ['**/*.{md,markdown,mdx,txt,rst,html,htm,jsonl,ndjson,ts,tsx,js,jsx,mjs,cjs,py}'];
export const DEFAULT_EXCLUDE = ['**/node_modules/**', '**/.git/**', '**/dist/**', '**/.cache/**'];

export interface WalkedFile {
  path: string;
  /** Document id for single-document formats. */
  id: string;
}

export interface WalkOptions {
  include?: readonly string[];
  exclude?: readonly string[];
}

export async function walk(
  root: string,
  options: WalkOptions = {},
): Promise<{ root: string; single: boolean; files: WalkedFile[] }> {
  const absolute = resolve(root);
  if (statSync(absolute).isFile()) {
    return { root: dirname(absolute), single: true, files: [{ path: absolute, id: basename(absolute) }] };
  }
  const found = await fg([...(options.include ?? DEFAULT_INCLUDE)], {
    cwd: absolute,
    ignore: [...(options.exclude ?? DEFAULT_EXCLUDE)],
    onlyFiles: true,
    dot: false,
    absolute: true,
    followSymbolicLinks: false,
  });
  const files = found
    .filter((path) => formatOf(path) !== null)
    .sort()
    .map((path) => ({ path, id: relative(absolute, path).split(sep).join('/') }));
  return { root: absolute, single: false, files };
}
