// The one-way layering: core/ imports no other top-level folder, models/ only core/, and no import cycle exists
// between top-level folders nor between the router's subfolders (files directly in router/ count as one node,
// "router/"; router/README.md "Layers" gives the order). Imports are read with TypeScript's own pre-processor (the
// real grammar, not a regex), from every non-test source file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['core', 'models', 'retrieval', 'deploy', 'router', 'evals', 'benchmarks', 'bin'] as const;
const SKIP = new Set(['node_modules', 'dist', 'fixtures', 'results']);

/** from → (to → one file that makes the edge). */
type Graph = Map<string, Map<string, string>>;

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

/** The top-level folder of a path, or undefined outside the listed folders. */
function folderOf(path: string): string | undefined {
  const top = relative(repoRoot, path).split(sep)[0];
  return FOLDERS.find((folder) => folder === top);
}

/** `router/<subfolder>` for files in a subfolder, `router/` for files directly in router/, undefined elsewhere. */
function routerNodeOf(path: string): string | undefined {
  const parts = relative(join(repoRoot, 'router'), path).split(sep);
  if (parts[0] === '..' || parts[0] === '') return undefined;
  return parts.length === 1 ? 'router/' : `router/${parts[0]}`;
}

/** Edges between the nodes `nodeOf` assigns, from the relative imports of every source file under `roots`. */
function importGraph(roots: readonly string[], nodeOf: (path: string) => string | undefined): Graph {
  const graph: Graph = new Map();
  for (const root of roots) {
    for (const file of sourceFiles(join(repoRoot, root))) {
      const from = nodeOf(file);
      if (from === undefined) continue;
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const imported of info.importedFiles) {
        if (!imported.fileName.startsWith('.')) continue;
        const to = nodeOf(resolve(dirname(file), imported.fileName));
        if (to === undefined || to === from) continue;
        const targets = graph.get(from) ?? new Map<string, string>();
        graph.set(from, targets);
        if (!targets.has(to)) targets.set(to, relative(repoRoot, file));
      }
    }
  }
  return graph;
}

/** Strongly connected components with more than one node (Tarjan). */
function stronglyConnected(graph: Graph): string[][] {
  const nodes = new Set<string>();
  for (const [from, targets] of graph) {
    nodes.add(from);
    for (const to of targets.keys()) nodes.add(to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    for (const to of graph.get(node)?.keys() ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (stack.includes(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member !== undefined) component.push(member);
      } while (member !== undefined && member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of [...nodes].sort()) if (!index.has(node)) visit(node);
  return found;
}

/** One shortest cycle through the component's first node, as "a → b (file) → … → a (file)". */
function describeCycle(graph: Graph, component: readonly string[]): string {
  const start = component[0] ?? '';
  const inside = new Set(component);
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() ?? '';
    for (const to of graph.get(node)?.keys() ?? []) {
      if (!inside.has(to) || previous.has(to)) continue;
      previous.set(to, node);
      if (to === start) queue.length = 0;
      else queue.push(to);
    }
  }
  const path = [start];
  for (let node = previous.get(start); node !== undefined && node !== start; node = previous.get(node))
    path.unshift(node);
  path.unshift(start);
  return path
    .slice(1)
    .reduce((text, node, step) => `${text} → ${node} (${graph.get(path[step] ?? '')?.get(node) ?? '?'})`, start);
}

function cycleReport(graph: Graph): string[] {
  return stronglyConnected(graph)
    .map((component) => `{${component.join(', ')}}: ${describeCycle(graph, component)}`)
    .sort();
}

function graphOf(edges: ReadonlyArray<readonly [string, string]>): Graph {
  const graph: Graph = new Map();
  for (const [from, to] of edges) {
    const targets = graph.get(from) ?? new Map<string, string>();
    graph.set(from, targets);
    targets.set(to, `${from}/x.ts`);
  }
  return graph;
}

describe('folder layering', () => {
  const folders = importGraph(FOLDERS, folderOf);
  const outOf = (folder: string): string[] => [...(folders.get(folder)?.keys() ?? [])];

  it('finds imports between folders (the scan itself works)', () => {
    expect(outOf('router')).toContain('core');
    expect(outOf('bin')).toContain('router');
  });

  it('core/ imports no other folder', () => {
    expect(outOf('core')).toEqual([]);
  });

  it('models/ imports only core/', () => {
    expect(outOf('models').filter((folder) => folder !== 'core')).toEqual([]);
  });

  it('has no import cycle between folders', () => {
    expect(cycleReport(folders)).toEqual([]);
  });
});

describe('router subfolder layering', () => {
  const router = importGraph(['router'], routerNodeOf);

  it('finds imports between router subfolders (the scan itself works)', () => {
    expect([...(router.get('router/')?.keys() ?? [])]).toContain('router/routes');
    expect([...(router.get('router/routing')?.keys() ?? [])]).toContain('router/backends');
  });

  it('has no import cycle between router subfolders (files directly in router/ are one node)', () => {
    expect(cycleReport(router)).toEqual([]);
  });
});

describe('the cycle finder', () => {
  it('reports a cycle with its path and the file behind each edge', () => {
    const graph = graphOf([
      ['router/routing', 'router/runtime'],
      ['router/runtime', 'router/pools'],
      ['router/pools', 'router/routing'],
      ['router/routing', 'router/backends'],
    ]);
    expect(cycleReport(graph)).toEqual([
      '{router/pools, router/routing, router/runtime}: router/pools → router/routing (router/pools/x.ts) → router/runtime (router/routing/x.ts) → router/pools (router/runtime/x.ts)',
    ]);
  });

  it('reports each separate cycle once and nothing for a one-way graph', () => {
    const graph = graphOf([
      ['router/', 'router/routes'],
      ['router/routes', 'router/'],
      ['router/governance', 'router/chain'],
      ['router/chain', 'router/governance'],
      ['router/chain', 'router/config'],
    ]);
    expect(cycleReport(graph)).toEqual([
      '{router/, router/routes}: router/ → router/routes (router//x.ts) → router/ (router/routes/x.ts)',
      '{router/chain, router/governance}: router/chain → router/governance (router/chain/x.ts) → router/chain (router/governance/x.ts)',
    ]);
    expect(
      cycleReport(
        graphOf([
          ['router', 'deploy'],
          ['deploy', 'core'],
          ['router', 'core'],
        ]),
      ),
    ).toEqual([]);
  });
});
