import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DOCS_FIXTURE } from '../testing/models.ts';
import { htmlToText } from './html.ts';
import { loadFile } from './loaders.ts';
import { walk } from './walk.ts';

let directory = '';
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'switchyard-loaders-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

describe('loaders', () => {
  it('reads Markdown front matter as metadata and the first heading as title', () => {
    const [document] = loadFile(join(DOCS_FIXTURE, 'guides', 'authentication.md'), 'guides/authentication.md');
    expect(document).toMatchObject({ id: 'guides/authentication.md', title: 'Authentication', format: 'markdown' });
    expect(document?.metadata).toEqual({ team: 'identity', tags: ['security', 'accounts'] });
    expect(document?.text.startsWith('# Authentication')).toBe(true);
  });

  it('turns HTML into text with Markdown headings, dropping scripts and styles', () => {
    const { text, title } = htmlToText(
      '<html><head><title>T &amp; C</title><style>p{}</style></head><body><h1>Top <em>level</em></h1><p>One&nbsp;two &lt;3</p><script>x()</script><h2>Sub</h2><p>Body</p></body></html>',
    );
    expect(title).toBe('T & C');
    expect(text).toBe('# Top level\n\nOne two <3\n\n## Sub\n\nBody');
  });

  it('loads JSONL records with their own ids, metadata and dates, and reports bad lines by number', () => {
    const documents = loadFile(join(DOCS_FIXTURE, 'recipes.jsonl'), 'ignored');
    expect(documents.map((document) => document.id)).toEqual(['recipe-bread', 'recipe-cake', 'recipe-soup']);
    expect(documents[1]).toMatchObject({
      title: 'Butter cake',
      lastModified: Date.parse('2025-01-15T00:00:00Z'),
      metadata: { cuisine: 'english', minutes: 60 },
    });
    const bad = join(directory, 'bad.jsonl');
    writeFileSync(bad, '{"id": "a", "text": "ok"}\n{"id": "b"}\n');
    expect(() => loadFile(bad, 'bad')).toThrow(/bad\.jsonl:2: text/);
    writeFileSync(bad, '{"id": "a", "text": "ok"}\n{"id": "a", "text": "again"}\n');
    expect(() => loadFile(bad, 'bad')).toThrow(/:2: duplicate id "a"/);
    writeFileSync(bad, 'not json\n');
    expect(() => loadFile(bad, 'bad')).toThrow(/:1: not valid JSON/);
  });

  it('walks a directory with include/exclude globs in a stable order, ids relative to the root', async () => {
    mkdirSync(join(directory, 'a', 'node_modules'), { recursive: true });
    writeFileSync(join(directory, 'b.md'), '# B');
    writeFileSync(join(directory, 'a', 'c.txt'), 'C');
    writeFileSync(join(directory, 'a', 'd.py'), 'x = 1');
    writeFileSync(join(directory, 'a', 'node_modules', 'e.md'), '# E');
    writeFileSync(join(directory, 'image.png'), 'binary');
    const all = await walk(directory);
    expect(all.files.map((file) => file.id)).toEqual(['a/c.txt', 'a/d.py', 'b.md']);
    const some = await walk(directory, { include: ['**/*.{md,py}'], exclude: ['a/**'] });
    expect(some.files.map((file) => file.id)).toEqual(['b.md']);
    const single = await walk(join(directory, 'a', 'c.txt'));
    expect(single).toMatchObject({ single: true, files: [{ id: 'c.txt' }] });
  });
});
