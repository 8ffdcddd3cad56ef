// Test fixture: the embedded default (simulated pools, offline retrieval on the tiny models) with the retrieval
// fixture docs ingested as index `docs`, and a temp folder for the request log, the rollout file and extra prompts.
// Only the simulators' speed is raised (so generations take milliseconds) and the folders point into the temp dir.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { ingest } from '../../retrieval/ingest.ts';
import { TransformersEmbedder } from '../../retrieval/models/embedder.ts';
import { RetrievalIndex } from '../../retrieval/retrieval-index.ts';
import { DOCS_FIXTURE, TINY_EMBEDDER } from '../../retrieval/testing/models.ts';
import { embeddedDefaultConfig } from '../config/default.ts';
import { validateConfig } from '../config/load.ts';
import type { RouterConfigInput } from '../config/schema.ts';
import { startRouter, type RunningRouter } from '../server.ts';

export interface ChainFixture {
  router: RunningRouter;
  client: OpenAI;
  workspace: string;
  requestLog: string;
  rolloutFile: string;
  promptsDir: string;
  logLines: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Builds the `docs` index once per workspace (the fixture corpus through retrieval's own ingest). */
export async function ingestDocs(indexRoot: string): Promise<void> {
  const workspace = mkdtempSync(join(tmpdir(), 'switchyard-chain-docs-'));
  cpSync(DOCS_FIXTURE, join(workspace, 'docs'), { recursive: true });
  const embedder = await TransformersEmbedder.load({ model: TINY_EMBEDDER, offline: true });
  const writer = await RetrievalIndex.open({
    directory: join(indexRoot, 'docs'),
    create: true,
    writable: true,
    embedder,
  });
  await ingest({ path: join(workspace, 'docs'), index: writer });
  writer.close();
  await embedder.dispose();
  rmSync(workspace, { recursive: true, force: true });
}

export async function startChainFixture(
  change: (config: RouterConfigInput) => void = () => undefined,
): Promise<ChainFixture> {
  const workspace = mkdtempSync(join(tmpdir(), 'switchyard-chain-'));
  const indexRoot = join(workspace, 'indexes');
  const promptsDir = join(workspace, 'prompts');
  mkdirSync(promptsDir);
  await ingestDocs(indexRoot);
  const environment = { SWITCHYARD_GOVERNANCE_DB: join(workspace, 'governance.sqlite') };
  const config = embeddedDefaultConfig(environment);
  for (const pool of config.pools) if (pool.kind !== 'llamacpp' && pool.driver) pool.driver.speed = 40;
  config.retrieval = { ...config.retrieval, indexRoot };
  const requestLog = join(workspace, 'requests.jsonl');
  const rolloutFile = join(workspace, 'prompt-rollout.yaml');
  config.prompts = { dirs: [promptsDir], rolloutFile, watch: true };
  config.requestLog = { path: requestLog, bodies: true };
  change(config);
  const logLines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const router = await startRouter(validateConfig(config, '(test)', environment), {
    host: '127.0.0.1',
    port: 0,
    processMetrics: false,
    chainLogDestination: destination,
    onServerError: (error) => console.error(error),
  });
  const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  return {
    router,
    client,
    workspace,
    requestLog,
    rolloutFile,
    promptsDir,
    logLines,
    async close() {
      await router.close();
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}

/** `vllm_xargs.sim_response`: the simulator answers exactly this text (models/sim). */
export function scripted(text: string): { vllm_xargs: { sim_response: string } } {
  return { vllm_xargs: { sim_response: text } };
}
