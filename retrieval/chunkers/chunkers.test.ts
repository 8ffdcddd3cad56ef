import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ChunkDraft, SourceDocument } from '../contracts.ts';
import { TransformersEmbedder } from '../models/embedder.ts';
import { seededRandom } from '../testing/random.ts';
import { getTokenizer } from '../tokens.ts';
import { runChunkerConformance } from './chunker.conformance.ts';
import { CodeChunker } from './code.ts';
import { FixedChunker } from './fixed.ts';
import { MarkdownChunker, markdownSections } from './markdown.ts';
import { RecursiveChunker } from './recursive.ts';
import { SemanticChunker } from './semantic.ts';
import { CHUNKER_NAMES, CHUNKERS, ChunkerNameSchema, createChunker } from './registry.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const EMBEDDER = join(import.meta.dirname, '..', 'models', 'fixtures', 'tiny-bert-embedder');

function document(id: string, text: string, extra: Partial<SourceDocument> = {}): SourceDocument {
  return { id, title: id, text, format: 'text', sourcePath: id, lastModified: 0, metadata: {}, ...extra };
}

const TOPICS: Record<string, string[]> = {
  auth: ['login', 'password', 'authentication', 'token', 'session', 'credentials', 'oauth'],
  cooking: ['bread', 'oven', 'flour', 'butter', 'recipe', 'bake', 'sugar'],
  network: ['socket', 'port', 'connection', 'timeout', 'proxy', 'firewall', 'tcp'],
};

function prose(seed: number, paragraphs: number, topicOrder: string[] = ['auth', 'cooking', 'network']): string {
  const random = seededRandom(seed);
  const pick = (words: string[]): string => words[Math.floor(random() * words.length)] as string;
  const out: string[] = [];
  for (let p = 0; p < paragraphs; p += 1) {
    const topic = TOPICS[topicOrder[p % topicOrder.length] as string] as string[];
    const sentences: string[] = [];
    for (let s = 0; s < 4 + Math.floor(random() * 4); s += 1) {
      const words = Array.from({ length: 6 + Math.floor(random() * 8) }, () => pick(topic));
      sentences.push(`The ${words.join(' ')}, and ${pick(topic)} ünïcødé ${pick(topic)}.`);
    }
    out.push(sentences.join(' '));
  }
  return out.join('\n\n');
}

const plain = document('plain.txt', prose(1, 12));
const oneLine = document('one-line.txt', prose(2, 6).replace(/\n/g, ' '));
const markdown = document(
  'guide.md',
  [
    '# Guide',
    prose(3, 1),
    '## Authentication',
    prose(4, 3, ['auth']),
    '### Tokens',
    '```\n# not a heading inside a fence\n```',
    prose(5, 2, ['auth']),
    '## Networking',
    prose(6, 2, ['network']),
  ].join('\n\n'),
  { format: 'markdown' },
);
const typescript = document('sample.ts', readFileSync(join(FIXTURES, 'sample-ts.txt'), 'utf8'), { format: 'code' });
const python = document('sample.py', readFileSync(join(FIXTURES, 'sample-py.txt'), 'utf8'), { format: 'code' });

runChunkerConformance('fixed', {
  create: () => new FixedChunker({ size: 64, overlap: 16 }),
  size: 64,
  overlap: 16,
  documents: [plain, oneLine, markdown],
});
runChunkerConformance('recursive', {
  create: () => new RecursiveChunker({ size: 80, overlap: 20 }),
  size: 80,
  overlap: 20,
  documents: [plain, oneLine, markdown],
});
runChunkerConformance('markdown', {
  create: () => new MarkdownChunker({ size: 120, overlap: 0 }),
  size: 120,
  overlap: 0,
  documents: [markdown],
});
runChunkerConformance('code', {
  create: () => new CodeChunker({ size: 120 }),
  size: 120,
  overlap: 0,
  documents: [typescript, python],
});
runChunkerConformance('semantic', {
  create: () => new SemanticChunker(embedder(), { threshold: 0.5, minTokens: 20, size: 150 }),
  size: 150,
  overlap: 0,
  documents: [plain, oneLine],
});

let loaded: TransformersEmbedder | null = null;
const loading = TransformersEmbedder.load({ model: EMBEDDER, offline: true }).then((value) => {
  loaded = value;
  return value;
});
function embedder(): TransformersEmbedder {
  if (loaded === null) throw new Error('embedder not loaded yet');
  return loaded;
}
await loading;

describe('fixed chunker', () => {
  it('shares exactly the configured overlap between windows of plain ASCII text', async () => {
    const text = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    const chunks = await new FixedChunker({ size: 50, overlap: 10 }).chunk(document('ascii', text));
    const tokenizer = getTokenizer();
    for (let i = 1; i < chunks.length - 1; i += 1) {
      const shared = text.slice((chunks[i] as ChunkDraft).start, (chunks[i - 1] as ChunkDraft).end);
      expect(Math.abs(tokenizer.count(shared) - 10)).toBeLessThanOrEqual(1);
      expect((chunks[i] as ChunkDraft).tokenCount).toBeGreaterThanOrEqual(49);
    }
  });

  it('rejects an overlap not smaller than the size', () => {
    expect(() => new FixedChunker({ size: 10, overlap: 10 })).toThrow(/overlap/);
  });
});

describe('documents within the budget (fixed and recursive)', () => {
  const chunkers = [
    ['fixed', () => new FixedChunker({ size: 40, overlap: 5 })],
    ['recursive', () => new RecursiveChunker({ size: 40, overlap: 5 })],
  ] as const;
  for (const [name, create] of chunkers) {
    it(`${name}: a document that fits is one chunk with its exact token count; one just over is split`, async () => {
      const tokenizer = getTokenizer();
      const words = (count: number) => `  ${Array.from({ length: count }, (_, i) => `ünï${i}`).join(' ')}\n`;
      let fitting = 1;
      while (tokenizer.count(words(fitting + 1)) <= 40) fitting += 1;
      const text = words(fitting);
      const [only, ...rest] = await create().chunk(document('fits', text));
      expect(rest).toEqual([]);
      expect(only).toEqual({ text, start: 0, end: text.length, headingPath: [], tokenCount: tokenizer.count(text) });
      const over = words(fitting + 3);
      const split = await create().chunk(document('over', over));
      expect(split.length).toBeGreaterThan(1);
      for (const chunk of split) expect(chunk.tokenCount).toBe(tokenizer.count(chunk.text));
    });

    it(`${name}: a blank document has no chunks`, async () => {
      expect(await create().chunk(document('blank', ' \n\t '))).toEqual([]);
    });
  }
});

describe('markdown chunker', () => {
  it('carries heading paths and ignores # lines inside code fences', async () => {
    const sections = markdownSections(markdown.text);
    expect(sections.map((section) => section.headingPath)).toEqual([
      ['Guide'],
      ['Guide', 'Authentication'],
      ['Guide', 'Authentication', 'Tokens'],
      ['Guide', 'Networking'],
    ]);
    const chunks = await new MarkdownChunker({ size: 120, overlap: 0 }).chunk(markdown);
    const tokens = chunks.filter((chunk) => chunk.text.includes('not a heading'));
    expect(tokens[0]?.headingPath).toEqual(['Guide', 'Authentication', 'Tokens']);
  });
});

describe('code chunker', () => {
  function expectWhole(chunks: ChunkDraft[], text: string, signature: string, closing: string): ChunkDraft {
    const start = text.indexOf(signature);
    const end = text.indexOf(closing, start) + closing.length;
    expect(start).toBeGreaterThanOrEqual(0);
    const holder = chunks.find((chunk) => chunk.start <= start && chunk.end >= end);
    expect(holder, `${signature} is split across chunks`).toBeDefined();
    return holder as ChunkDraft;
  }

  it('keeps TypeScript functions, arrow functions and methods whole, with symbol paths', async () => {
    const chunks = await new CodeChunker({ size: 120 }).chunk(typescript);
    const text = typescript.text;
    expect(expectWhole(chunks, text, 'export function parsePorts', '\n}').headingPath).toEqual(['parsePorts']);
    expect(expectWhole(chunks, text, 'export const retryDelay', '\n};').headingPath).toEqual(['retryDelay']);
    expectWhole(chunks, text, 'function loadConfig', '\n}');
    // The class is over 120 tokens, so it is split into its methods.
    expect(expectWhole(chunks, text, '  acquire(): string {', '\n  }').headingPath).toEqual([
      'ConnectionPool',
      'acquire',
    ]);
    expectWhole(chunks, text, '  release(connection: string)', '\n  }');
  });

  it('keeps Python functions (with decorators) and methods whole', async () => {
    const chunks = await new CodeChunker({ size: 120 }).chunk(python);
    const text = python.text;
    expect(expectWhole(chunks, text, 'def parse_ports', 'return ports\n').headingPath).toEqual(['parse_ports']);
    expect(expectWhole(chunks, text, '@staticmethod\ndef retry_delay', '** attempt)\n').headingPath).toEqual([
      'retry_delay',
    ]);
    expect(expectWhole(chunks, text, '    def acquire', 'return connection\n').headingPath).toEqual([
      'ConnectionPool',
      'acquire',
    ]);
    expectWhole(chunks, text, '    async def release', 'append(connection)\n');
    expectWhole(chunks, text, 'def load_config', 'startswith("_")}\n');
  });

  it('keeps a class whole when it fits', async () => {
    const chunks = await new CodeChunker({ size: 800 }).chunk(typescript);
    const whole = expectWhole(chunks, typescript.text, 'export class ConnectionPool', '\n}');
    expect(whole.headingPath).toEqual(['ConnectionPool']);
  });
});

describe('semantic chunker', () => {
  it('splits where the topic changes', async () => {
    const text = [prose(10, 1, ['auth']), prose(11, 1, ['cooking']), prose(12, 1, ['network'])].join(' ');
    const chunks = await new SemanticChunker(embedder(), { threshold: 0.5, minTokens: 10, size: 400 }).chunk(
      document('topics', text),
    );
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    const first = chunks.find((chunk) => chunk.text.includes('bread') || chunk.text.includes('oven'));
    expect(first?.text).not.toMatch(/password|oauth|credentials/);
  });
});

describe('chunker registry', () => {
  it('derives the names, the zod enum and the factory from one record', () => {
    expect(CHUNKER_NAMES).toEqual(Object.keys(CHUNKERS));
    for (const name of CHUNKER_NAMES.filter((entry) => entry !== 'semantic'))
      expect(createChunker(name).name).toBe(name);
    expect(ChunkerNameSchema.options).toEqual(CHUNKER_NAMES);
    expect(ChunkerNameSchema.safeParse('sentences').success).toBe(false);
  });

  it('the semantic chunker without an embedder is a 400 naming the parameter', () => {
    expect(() => createChunker('semantic')).toThrow(expect.objectContaining({ status: 400, param: 'chunker' }));
  });
});
