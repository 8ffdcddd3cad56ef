// Loaders: file → SourceDocument(s). Markdown (YAML front matter becomes metadata), plain text, HTML (text with its
// h1–h6 turned into Markdown headings so the structure chunker sees them), source code, and JSONL records
// `{id, text, title?, metadata?, url?}` (one document per line; the record id is the document id everywhere).
import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { DocumentFormat, MetadataValue, SourceDocument } from '../contracts.ts';
import { InvalidRequestError } from '../errors.ts';
import { codeLanguageOf } from '../chunkers/code-language.ts';
import { htmlToText } from './html.ts';

const CODE_EXTENSIONS = new Set([
  '.ts',
  '.tsx',
  '.mts',
  '.cts',
  '.js',
  '.jsx',
  '.mjs',
  '.cjs',
  '.py',
  '.go',
  '.rs',
  '.java',
  '.rb',
  '.c',
  '.h',
  '.cpp',
  '.sh',
]);

export function formatOf(path: string): DocumentFormat | null {
  const extension = extname(path).toLowerCase();
  if (extension === '.md' || extension === '.markdown' || extension === '.mdx') return 'markdown';
  if (extension === '.txt' || extension === '.text' || extension === '.rst') return 'text';
  if (extension === '.html' || extension === '.htm') return 'html';
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (CODE_EXTENSIONS.has(extension)) return 'code';
  return null;
}

const MetadataValueSchema: z.ZodType<MetadataValue> = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.string()),
  z.array(z.number()),
]);

export const JsonlRecordSchema = z.object({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  text: z.string(),
  title: z.string().optional(),
  url: z.string().optional(),
  metadata: z.record(z.string(), MetadataValueSchema).default({}),
  /** ISO date or epoch milliseconds; defaults to the file's modification time. */
  last_modified: z.union([z.string(), z.number()]).optional(),
});

/** Loads one file. `id` is the document id to use (the JSONL loader uses each record's own id instead). */
export function loadFile(path: string, id: string): SourceDocument[] {
  const format = formatOf(path);
  if (format === null) throw new InvalidRequestError(`Unsupported file type: ${path}`);
  const raw = readFileSync(path, 'utf8');
  const lastModified = statSync(path).mtimeMs;
  const base = { sourcePath: path, lastModified: Math.round(lastModified) };
  switch (format) {
    case 'markdown': {
      const { body, metadata } = splitFrontMatter(raw);
      const heading = /^#\s+(.+)$/m.exec(body);
      const title =
        typeof metadata['title'] === 'string' ? metadata['title'] : (heading?.[1]?.trim() ?? basename(path));
      return [{ ...base, id, title, text: body, format, metadata }];
    }
    case 'html': {
      const { text, title } = htmlToText(raw);
      return [{ ...base, id, title: title ?? basename(path), text, format, metadata: {} }];
    }
    case 'code':
      return [{ ...base, id, title: basename(path), text: raw, format, metadata: {}, language: codeLanguageOf(path) }];
    case 'text':
      return [{ ...base, id, title: basename(path), text: raw, format, metadata: {} }];
    case 'jsonl':
      return loadJsonl(raw, path, base.lastModified);
  }
}

function loadJsonl(raw: string, path: string, fileModified: number): SourceDocument[] {
  const documents: SourceDocument[] = [];
  const seen = new Set<string>();
  raw.split('\n').forEach((line, index) => {
    if (line.trim().length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new InvalidRequestError(`${path}:${index + 1}: not valid JSON (${(error as Error).message})`);
    }
    const result = JsonlRecordSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new InvalidRequestError(`${path}:${index + 1}: ${issue?.path.join('.') || 'record'}: ${issue?.message}`);
    }
    const record = result.data;
    if (seen.has(record.id)) throw new InvalidRequestError(`${path}:${index + 1}: duplicate id "${record.id}"`);
    seen.add(record.id);
    const lastModified =
      record.last_modified === undefined
        ? fileModified
        : typeof record.last_modified === 'number'
          ? record.last_modified
          : Date.parse(record.last_modified);
    if (Number.isNaN(lastModified)) {
      throw new InvalidRequestError(`${path}:${index + 1}: last_modified is not a date`);
    }
    documents.push({
      id: record.id,
      title: record.title ?? record.id,
      text: record.text,
      format: 'jsonl',
      sourcePath: path,
      ...(record.url === undefined ? {} : { sourceUrl: record.url }),
      lastModified,
      metadata: record.metadata,
    });
  });
  return documents;
}

function splitFrontMatter(raw: string): { body: string; metadata: Record<string, MetadataValue> } {
  const match = /^---\n([\s\S]*?)\n---\n?/.exec(raw);
  if (match === null) return { body: raw, metadata: {} };
  const metadata: Record<string, MetadataValue> = {};
  try {
    const parsed: unknown = parseYaml(match[1] as string);
    if (parsed !== null && typeof parsed === 'object') {
      for (const [key, value] of Object.entries(parsed)) {
        const checked = MetadataValueSchema.safeParse(value instanceof Date ? value.toISOString() : value);
        if (checked.success) metadata[key] = checked.data;
      }
    }
  } catch {
    return { body: raw, metadata: {} };
  }
  return { body: raw.slice(match[0].length), metadata };
}
