// The sample suite against the embedded default (`switchyard serve` with no config: simulated GPU pools whose answers
// are fluent-looking random words, not a language model) with no judge: what a new user runs first. Checks that hold
// for any answering model pass; checks of a real model's knowledge, format or grounding fail, as they should against
// a simulator; judge metrics fail for want of a judge; the run exits 1 because gated thresholds failed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDefaultConfig } from '../../router/config/default.ts';
import { validateConfig } from '../../router/config/load.ts';
import { ensureDemoKey } from '../../router/governance/keys/demo-key.ts';
import { startRouter, type RunningRouter } from '../../router/server.ts';
import { evalRun } from '../commands/run.ts';
import type { RunReport } from '../report/types.ts';
import { readFile } from 'node:fs/promises';
import { silentProgress } from './progress.ts';

const SUITE = join(import.meta.dirname, '..', 'samples', 'suite.yaml');
let directory: string;
let router: RunningRouter;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'switchyard-evals-embedded-'));
  const environment = {
    SWITCHYARD_GOVERNANCE_DB: join(directory, 'governance.sqlite'),
    SWITCHYARD_INDEX_DIR: join(directory, 'indexes'),
  };
  const config = validateConfig(embeddedDefaultConfig(environment), '(embedded default)', environment);
  // `switchyard serve` creates the demo key that keyless local requests are billed to before it starts the router.
  ensureDemoKey(config.governance.keys.database, config.governance.keys.loopbackKey ?? 'demo');
  router = await startRouter(
    { ...config, governance: { ...config.governance, logging: { ...config.governance.logging, level: 'silent' } } },
    { host: '127.0.0.1', port: 0, processMetrics: false },
  );
  // Scheduling needs the replicas' first metrics scrape: wait for /ready as a user's script would.
  const deadline = Date.now() + 60_000;
  while (
    (await fetch(`${router.url}/ready`).then(
      (response) => response.status,
      () => 0,
    )) !== 200 &&
    Date.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 120_000);
afterAll(async () => {
  await router?.close();
  await rm(directory, { recursive: true, force: true });
});

describe('the sample suite on the embedded default', () => {
  it('passes the model-independent checks, fails the knowledge, format, grounding and judge checks, exits 1', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await evalRun(
      {
        suite: SUITE,
        target: 'llama-3.1-8b',
        routerUrl: router.url,
        embedder: 'hashed',
        cache: false,
        out: join(directory, 'out'),
      },
      { stdout: (text) => out.push(text), stderr: (text) => err.push(text), progress: silentProgress },
    );
    const report = JSON.parse(await readFile(join(directory, 'out', 'report.json'), 'utf8')) as RunReport;
    expect(report.summary.errors, report.results[0]?.error).toBe(0);
    const passRate = Object.fromEntries(report.summary.metrics.map((metric) => [metric.id, metric.passRate]));
    // Any answering model: a non-empty English answer of bounded length, no "As an AI" boilerplate.
    for (const id of ['non-empty', 'token-length', 'language', 'not-contains']) expect(passRate[id], id).toBe(1);
    // Knowledge ("Paris"), JSON output, overlap with a reference, grounding in the context, citing the right documents.
    for (const id of [
      'contains',
      'json-schema',
      'required-fields',
      'rouge-l',
      'faithfulness',
      'claim-recall',
      'retrieval',
    ]) {
      expect(passRate[id], id).toBe(0);
    }
    // No --judge-model: judge metrics fail and say why.
    const judged = report.results.flatMap((result) => result.metrics.filter((metric) => metric.stage === 'judge'));
    expect(judged.length).toBeGreaterThan(0);
    for (const metric of judged) expect(metric.reason).toMatch(/no judge configured/);
    expect(err.join('\n')).toMatch(/judge metrics but no --judge-model/);
    expect(code).toBe(1);
    expect(out.join('\n')).toMatch(/thresholds: \d+ gated metric\(s\) failed \(.*capital-france:contains.*\): exit 1/);
  }, 180_000);
});
