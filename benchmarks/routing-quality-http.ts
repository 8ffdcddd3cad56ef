// Real-time mode of benchmarks/routing-quality.ts: for each profile, N `switchyard sim` replica processes and one
// `switchyard serve` router process (fresh, so no profile inherits another's caches), then the same arrival trace
// replayed against the router's OpenAI API as streamed chat completions. The client measures TTFT (first content
// chunk), inter-token gaps and throughput; the backend that served each request comes from x-switchyard-backend,
// the prefix-cache hit rate from the replicas' own /metrics (read with the router's parser).
// Real time on a shared host: every process (replicas, router, this client) is asked to run at nice −10 (as root;
// `nice: false` to skip; routing-quality.ts also gives the whole run a scheduling group of its own, host-priority.ts),
// and each run records how far the host got in the way — the load average, this process's
// event-loop delay and how late arrivals were sent — so that a run the host distorted is reported as not valid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { parseVllmMetrics, type SchedulingProfileConfig } from '../router/scheduling/index.ts';
import { percentile, summarize, type Outcome, type RunSummary, type WorkItem } from './routing-quality-workload.ts';

const CLI = fileURLToPath(new URL('../bin/switchyard.js', import.meta.url));
/** A process that has not printed its URL by then is reported as failed to start. */
const START_TIMEOUT_MS = 180_000;

export interface HttpRunOptions {
  model: string;
  replicas: number;
  /** KV blocks per replica; NaN = the simulator's own sizing for the GPU. */
  kvBlocks: number;
  /** Simulated time runs this much faster than real time (arrivals are replayed at the same factor). */
  speed: number;
  rate: number;
  /** Raise the processes' priority (nice −10) so that a busy host delays them less (needs root; skipped otherwise). */
  nice: boolean;
}

/** How busy the host was during one profile's replay. */
export interface HostCheck {
  profile: string;
  loadBefore: number;
  loadAfter: number;
  cores: number;
  /** p99 of this (client) process's event-loop delay during the replay, real ms. */
  loopDelayP99Ms: number;
  /** p99 of how late requests were sent after their arrival time, real ms. */
  sendLatenessP99Ms: number;
  niced: boolean;
  /** The host stayed quiet enough for real-time numbers: load ≤ 2 × cores, delays p99 ≤ 20 ms. */
  valid: boolean;
}

/** Limits of HostCheck.valid: beyond them, host scheduling delay is a visible part of a TTFT. */
const MAX_LOAD_PER_CORE = 2;
const MAX_HOST_DELAY_MS = 20;

function raisePriority(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    setPriority(pid, -10);
    return true;
  } catch {
    return false;
  }
}

/** Starts the CLI with `args` and resolves with the first URL its stdout prints that matches `pattern`. */
function startProcess(
  args: readonly string[],
  pattern: RegExp,
  nice: boolean,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (nice) raisePriority(child.pid);
  return new Promise((resolve, reject) => {
    let output = '';
    const timeout = setTimeout(() => fail(new Error(`timed out starting switchyard ${args[0]}`)), START_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timeout);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n${output}`));
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = pattern.exec(output);
      if (!match) return;
      clearTimeout(timeout);
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      child.stderr!.resume();
      resolve({ child, url: match[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString('utf8')));
    child.once('exit', (code) => fail(new Error(`switchyard ${args[0]} exited with ${code}`)));
    child.once('error', fail);
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // The start-up listener treats any exit as a failed start: drop it before asking the process to stop.
  child.removeAllListeners('exit');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(forced);
}

async function prefixCache(
  urls: readonly string[],
  agent: Agent,
): Promise<{ queries: number; hits: number; preemptions: number }> {
  let queries = 0;
  let hits = 0;
  for (const url of urls) {
    const response = await request(`${url.replace(/\/v1$/, '')}/metrics`, { dispatcher: agent });
    const metrics = parseVllmMetrics(await response.body.text());
    queries += metrics.prefixCacheQueries;
    hits += metrics.prefixCacheHits;
  }
  return { queries, hits, preemptions: NaN };
}

/** One streamed chat completion through the router, timed by the client in simulated ms. */
async function send(
  routerUrl: string,
  agent: Agent,
  model: string,
  item: WorkItem,
  speed: number,
): Promise<Omit<Outcome, 'item'>> {
  const started = performance.now();
  const toSim = (realMs: number): number => realMs * speed;
  try {
    const response = await request(`${routerUrl}/v1/chat/completions`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', ...(item.sessionKey ? { 'x-session-id': item.sessionKey } : {}) },
      body: JSON.stringify({ model, messages: item.messages, max_tokens: item.maxTokens, stream: true }),
    });
    const backend = String(response.headers['x-switchyard-backend'] ?? '');
    const route = String(response.headers['x-switchyard-route'] ?? '');
    if (response.statusCode !== 200) {
      await response.body.dump();
      return { ok: false, ttftMs: NaN, itlMaxMs: NaN, finishedAtMs: toSim(performance.now()), backend, route };
    }
    let first = NaN;
    let previous = NaN;
    const gaps: number[] = [];
    let tail = '';
    for await (const chunk of response.body) {
      const now = performance.now();
      tail += (chunk as Buffer).toString('utf8');
      // Count content events in this read; several in one read arrived together (gap 0 between them).
      let events = 0;
      let cursor = tail.indexOf('"content":"');
      while (cursor !== -1) {
        if (tail[cursor + 11] !== '"') events++;
        cursor = tail.indexOf('"content":"', cursor + 11);
      }
      tail = tail.slice(-32);
      for (let index = 0; index < events; index++) {
        if (Number.isNaN(first)) first = now;
        else gaps.push(toSim(index === 0 ? now - previous : 0));
        previous = now;
      }
    }
    const ok = !Number.isNaN(first);
    return {
      ok,
      ttftMs: toSim(first - started),
      itlMaxMs: gaps.length > 0 ? Math.max(...gaps) : NaN,
      itlMs: gaps,
      finishedAtMs: toSim(performance.now()),
      backend,
      route,
    };
  } catch {
    return {
      ok: false,
      ttftMs: NaN,
      itlMaxMs: NaN,
      finishedAtMs: toSim(performance.now()),
      backend: '',
      route: 'error',
    };
  }
}

async function runProfile(
  options: HttpRunOptions,
  name: string,
  profile: SchedulingProfileConfig,
  workload: readonly WorkItem[],
): Promise<{ summary: RunSummary; host: HostCheck }> {
  const processes: ChildProcess[] = [];
  const directory = mkdtempSync(join(tmpdir(), 'switchyard-routing-'));
  const agent = new Agent({ connections: 256 });
  try {
    const simArgs = ['sim', '--model', options.model, '--gpu', 'h100', '--port', '0', '--speed', String(options.speed)];
    if (Number.isFinite(options.kvBlocks)) simArgs.push('--kv-blocks', String(options.kvBlocks));
    const started = await Promise.allSettled(
      Array.from({ length: options.replicas }, () =>
        startProcess(simArgs, /(http:\/\/127\.0\.0\.1:\d+\/v1)/, options.nice),
      ),
    );
    const replicas = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    processes.push(...replicas.map((replica) => replica.child));
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const configPath = join(directory, 'switchyard.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        pools: [
          {
            name: 'pool',
            kind: 'vllm',
            model: options.model,
            gpu: 'h100',
            backends: replicas.map((replica, index) => ({ id: `replica-${index}`, url: replica.url })),
          },
        ],
        models: [{ name: options.model, route: ['pool'] }],
        scheduling: profile,
      }),
    );
    const router = await startProcess(
      ['serve', '--config', configPath, '--port', '0'],
      /listening on (http:\/\/[^\s]+)/,
      options.nice,
    );
    processes.push(router.child);
    const before = await prefixCache(
      replicas.map((replica) => replica.url),
      agent,
    );
    const pending: Array<Promise<void>> = [];
    const outcomes: Outcome[] = [];
    const lateness: number[] = [];
    const loadBefore = loadavg()[0]!;
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const origin = performance.now();
    for (const item of workload) {
      const due = origin + item.arrivalMs / options.speed;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      lateness.push(Math.max(0, performance.now() - due));
      pending.push(
        send(router.url, agent, options.model, item, options.speed).then(
          (outcome) => void outcomes.push({ ...outcome, item }),
        ),
      );
    }
    await Promise.all(pending);
    loopDelay.disable();
    const loadAfter = loadavg()[0]!;
    const cores = cpus().length;
    const loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
    const sendLatenessP99Ms = percentile(lateness, 0.99);
    const host: HostCheck = {
      profile: name,
      loadBefore,
      loadAfter,
      cores,
      loopDelayP99Ms,
      sendLatenessP99Ms,
      niced: options.nice && raisePriority(process.pid),
      valid:
        Math.max(loadBefore, loadAfter) <= MAX_LOAD_PER_CORE * cores &&
        loopDelayP99Ms <= MAX_HOST_DELAY_MS &&
        sendLatenessP99Ms <= MAX_HOST_DELAY_MS,
    };
    const after = await prefixCache(
      replicas.map((replica) => replica.url),
      agent,
    );
    const cache = { queries: after.queries - before.queries, hits: after.hits - before.hits, preemptions: NaN };
    return { summary: summarize(name, options.rate, outcomes, workload.length, origin * options.speed, cache), host };
  } finally {
    await Promise.all(processes.map(stopProcess));
    await agent.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Every profile in turn, same trace, fresh processes each time. */
export async function runHttpComparison(
  options: HttpRunOptions,
  profiles: ReadonlyArray<{ name: string; profile: SchedulingProfileConfig }>,
  workload: readonly WorkItem[],
): Promise<{ results: RunSummary[]; hosts: HostCheck[] }> {
  // This process sends the arrivals and timestamps the chunks: it gets the same priority as its children.
  if (options.nice) raisePriority(process.pid);
  const results: RunSummary[] = [];
  const hosts: HostCheck[] = [];
  for (const { name, profile } of profiles) {
    const run = await runProfile(options, name, profile, workload);
    results.push(run.summary);
    hosts.push(run.host);
  }
  return { results, hosts };
}
