// The one-way layering of the top-level folders: core/ imports none of them, models/ only core/, and no import
// cycle exists between any two folders. Imports are read with TypeScript's own pre-processor (the real grammar,
// not a regex), from every non-test source file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['core', 'models', 'retrieval', 'deploy', 'router', 'evals', 'benchmarks', 'bin'] as const;
type Folder = (typeof FOLDERS)[number];
const SKIP = new Set(['node_modules', 'dist', 'fixtures', 'results']);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

function folderOf(path: string): Folder | undefined {
  const top = relative(repoRoot, path).split(sep)[0];
  return FOLDERS.find((folder) => folder === top);
}

/** Edges "from → to" between top-level folders, each with one file that makes it. */
function folderEdges(): Map<string, string> {
  const edges = new Map<string, string>();
  for (const folder of FOLDERS) {
    for (const file of sourceFiles(join(repoRoot, folder))) {
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const imported of info.importedFiles) {
        if (!imported.fileName.startsWith('.')) continue;
        const target = folderOf(resolve(dirname(file), imported.fileName));
        if (target !== undefined && target !== folder) {
          const key = `${folder} → ${target}`;
          if (!edges.has(key)) edges.set(key, relative(repoRoot, file));
        }
      }
    }
  }
  return edges;
}

/** Strongly connected components with more than one folder (Tarjan). */
function cycles(edges: Iterable<string>): Folder[][] {
  const next = new Map<Folder, Folder[]>(FOLDERS.map((f) => [f, []]));
  for (const edge of edges) {
    const [from, to] = edge.split(' → ') as [Folder, Folder];
    next.get(from)?.push(to);
  }
  const index = new Map<Folder, number>();
  const low = new Map<Folder, number>();
  const stack: Folder[] = [];
  const found: Folder[][] = [];
  const visit = (node: Folder): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (stack.includes(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: Folder[] = [];
      let member: Folder | undefined;
      do {
        member = stack.pop();
        if (member !== undefined) component.push(member);
      } while (member !== undefined && member !== node);
      if (component.length > 1) found.push(component);
    }
  };
  for (const folder of FOLDERS) if (!index.has(folder)) visit(folder);
  return found;
}

describe('folder layering', () => {
  const edges = folderEdges();

  it('finds imports between folders (the scan itself works)', () => {
    expect(edges.has('router → core')).toBe(true);
    expect(edges.has('bin → router')).toBe(true);
  });

  it('core/ imports no other folder', () => {
    expect([...edges.keys()].filter((edge) => edge.startsWith('core → '))).toEqual([]);
  });

  it('models/ imports only core/', () => {
    const fromModels = [...edges.keys()].filter((edge) => edge.startsWith('models → ') && edge !== 'models → core');
    expect(fromModels).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    const found = cycles(edges.keys());
    const explain = found.map((component) =>
      [...edges].filter(([edge]) => component.some((f) => edge.startsWith(`${f} → `)) && component.some((f) => edge.endsWith(` ${f}`))).map(([edge, file]) => `${edge} (${file})`),
    );
    expect(explain).toEqual([]);
  });

  it('detects a cycle when one exists', () => {
    expect(cycles(['router → deploy', 'deploy → router', 'router → core'])).toHaveLength(1);
    expect(cycles(['router → deploy', 'deploy → core'])).toEqual([]);
  });
});
