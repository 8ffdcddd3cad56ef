// The `local` driver: each replica is a detached child process running the vLLM stand-in (the simulator behind
// vLLM's command line), or llama.cpp's llama-server when the spec carries a llama.cpp engine. A JSON state file per replica in `stateDir` lets a later driver instance adopt processes an
// earlier one started, the way the docker driver adopts labelled containers.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Driver, ReplicaExit, ReplicaInfo, ReplicaSpec, StopOptions } from '../contracts.ts';
import { ReplicaStartError } from '../errors.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
// From the compiled build the stand-in is JavaScript for plain node; from the sources it is TypeScript run through tsx.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const STANDIN_ENTRY = fileURLToPath(
  new URL(FROM_SOURCE ? '../image/vllm-standin.ts' : '../image/vllm-standin.js', import.meta.url),
);

interface StateFile {
  replicaId: string;
  pool: string;
  model: ReplicaInfo['model'];
  gpuIds: string[];
  port: number;
  url: string;
  pid: number;
  startedAt: number;
  logFile: string;
}

export interface LocalDriverOptions {
  /** Where state and log files live; one directory per Switchyard installation. */
  stateDir: string;
  /** Simulated-time speed of the replicas (1 = real time). */
  simSpeed?: number;
  /** Extra environment for every replica. */
  env?: Readonly<Record<string, string>>;
  /** How often adopted processes (not our children) are checked for liveness. */
  livenessPollMs?: number;
  /** The stand-in bundle from image/bundle.ts (starts much faster than tsx); default: the stand-in entry as it is. */
  bundleFile?: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class LocalDriver implements Driver {
  readonly kind = 'local' as const;
  private readonly options: LocalDriverOptions;
  private readonly children = new Map<string, ChildProcess>();
  private readonly stopping = new Set<string>();
  private readonly listeners = new Set<(exit: ReplicaExit) => void>();
  private readonly reported = new Set<string>();
  private poller: NodeJS.Timeout | undefined;

  constructor(options: LocalDriverOptions) {
    this.options = options;
    mkdirSync(options.stateDir, { recursive: true });
  }

  async start(spec: ReplicaSpec): Promise<ReplicaInfo> {
    const logFile = join(this.options.stateDir, `${spec.replicaId}.log`);
    const log = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      const standin = FROM_SOURCE ? ['--import', 'tsx', STANDIN_ENTRY] : [STANDIN_ENTRY];
      const entry = this.options.bundleFile === undefined ? standin : [this.options.bundleFile];
      const engine = spec.engine;
      const [file, args] = engine
        ? [engine.binary, [...spec.launchArgs]]
        : [process.execPath, [...entry, ...spec.launchArgs]];
      child = spawn(file, args, {
        cwd: REPO_ROOT,
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          ...process.env,
          ...this.options.env,
          ...spec.env,
          ...engine?.env,
          CUDA_VISIBLE_DEVICES: spec.gpuIds.join(','),
          SWITCHYARD_SIM_GPU: spec.gpu,
          SWITCHYARD_SIM_SPEED: String(this.options.simSpeed ?? 1),
        },
      });
    } finally {
      closeSync(log);
    }
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? 0));
      child.once('error', (error) =>
        reject(new ReplicaStartError(spec.replicaId, `cannot spawn ${spec.replicaId}: ${error.message}`, error)),
      );
    });
    child.unref();
    this.children.set(spec.replicaId, child);
    child.once('exit', (code, signal) => {
      this.children.delete(spec.replicaId);
      if (!this.stopping.has(spec.replicaId)) {
        this.report({
          replicaId: spec.replicaId,
          pool: spec.pool,
          exitCode: code,
          detail: `process exited (${signal ? `signal ${signal}` : `code ${code}`})`,
        });
      }
    });
    const state: StateFile = {
      replicaId: spec.replicaId,
      pool: spec.pool,
      model: spec.model,
      gpuIds: [...spec.gpuIds],
      port: spec.port,
      url: `http://${spec.host === '0.0.0.0' ? '127.0.0.1' : spec.host}:${spec.port}`,
      pid,
      startedAt: Date.now(),
      logFile,
    };
    writeFileSync(this.statePath(spec.replicaId), JSON.stringify(state, null, 2));
    return this.toInfo(state);
  }

  async stop(replicaId: string, options: StopOptions = {}): Promise<void> {
    const state = this.readState(replicaId);
    if (!state) return;
    this.stopping.add(replicaId);
    try {
      const grace = options.graceMs ?? 10_000;
      if (isAlive(state.pid)) {
        this.signal(state.pid, 'SIGTERM');
        const deadline = Date.now() + grace;
        while (isAlive(state.pid) && Date.now() < deadline) await sleep(25);
        if (isAlive(state.pid)) this.signal(state.pid, 'SIGKILL');
        for (let waited = 0; isAlive(state.pid) && waited < 2_000; waited += 25) await sleep(25);
      }
      rmSync(this.statePath(replicaId), { force: true });
      rmSync(state.logFile, { force: true });
    } finally {
      this.stopping.delete(replicaId);
    }
  }

  list(): Promise<ReplicaInfo[]> {
    const states = this.allStates();
    this.ensurePolling(states.length > 0);
    return Promise.resolve(states.map((state) => this.toInfo(state)));
  }

  logs(replicaId: string, tailLines = 50): Promise<string> {
    const state = this.readState(replicaId);
    if (!state || !existsSync(state.logFile)) return Promise.resolve('');
    return Promise.resolve(
      readFileSync(state.logFile, 'utf8')
        .split('\n')
        .slice(-tailLines - 1)
        .join('\n'),
    );
  }

  onExit(listener: (exit: ReplicaExit) => void): () => void {
    this.listeners.add(listener);
    this.ensurePolling(true);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    this.listeners.clear();
    return Promise.resolve();
  }

  private signal(pid: number, signal: NodeJS.Signals): void {
    try {
      // Detached → the child leads its own process group; signal the group so nothing it spawned survives.
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /** Children report exits through their 'exit' event; adopted processes are polled. */
  private ensurePolling(wanted: boolean): void {
    if (!wanted || this.poller || this.listeners.size === 0) return;
    this.poller = setInterval(() => {
      for (const state of this.allStates()) {
        if (this.children.has(state.replicaId) || this.stopping.has(state.replicaId)) continue;
        if (!isAlive(state.pid))
          this.report({
            replicaId: state.replicaId,
            pool: state.pool,
            exitCode: null,
            detail: `process ${state.pid} is gone`,
          });
      }
    }, this.options.livenessPollMs ?? 500);
    this.poller.unref();
  }

  private report(exit: ReplicaExit): void {
    if (this.reported.has(exit.replicaId)) return;
    this.reported.add(exit.replicaId);
    for (const listener of this.listeners) listener(exit);
  }

  private allStates(): StateFile[] {
    return readdirSync(this.options.stateDir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => this.readState(name.slice(0, -'.json'.length)))
      .filter((state): state is StateFile => state !== undefined);
  }

  private statePath(replicaId: string): string {
    return join(this.options.stateDir, `${replicaId}.json`);
  }

  private readState(replicaId: string): StateFile | undefined {
    try {
      return JSON.parse(readFileSync(this.statePath(replicaId), 'utf8')) as StateFile;
    } catch {
      return undefined;
    }
  }

  private toInfo(state: StateFile): ReplicaInfo {
    const alive = isAlive(state.pid);
    return {
      replicaId: state.replicaId,
      pool: state.pool,
      model: state.model,
      gpuIds: state.gpuIds,
      port: state.port,
      url: state.url,
      phase: alive ? 'running' : 'exited',
      ref: String(state.pid),
      startedAt: state.startedAt,
    };
  }
}
