// The simulator's public API: start simulated vLLM (or hosted-API) replicas in this process or in child processes.
// See README.md for the options, the HTTP surface and the fault syntax.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildFailed, ChildReady } from './child.ts';
import { FaultConfig } from './faults.ts';
import { SimReplicaOptions } from './options.ts';
import { type SimEngineStats, type SimReplica, startInProcessReplica } from './replica.ts';

export type { SimReplica, SimEngineStats } from './replica.ts';
export { SimReplicaOptions, type ResolvedSimReplicaOptions } from './options.ts';
export { FaultConfig, type FaultConfigInput, parseFaultSpec, faultConfigFromSpec } from './faults.ts';
export { SimEngine, type EngineStats, type GenerationEngine } from './engine.ts';
export { RealClock, VirtualClock, type Clock } from './clock.ts';
export { countTokens, encode, chatPromptTokens, pseudoText } from './tokenizer.ts';

// From the compiled build the child is JavaScript for plain node; from the sources it is TypeScript run through tsx.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CHILD_ENTRY = fileURLToPath(new URL(FROM_SOURCE ? './child.ts' : './child.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD_START_TIMEOUT_MS = 30_000;

export async function startSimReplica(input: SimReplicaOptions): Promise<SimReplica> {
  const options = SimReplicaOptions.parse(input);
  if (options.isolation === 'in-process') return startInProcessReplica(options);
  return startChildReplica(options);
}

async function startChildReplica(options: SimReplicaOptions): Promise<SimReplica> {
  const resolved = SimReplicaOptions.parse(options);
  const child: ChildProcess = fork(CHILD_ENTRY, [], {
    cwd: REPO_ROOT,
    execArgv: FROM_SOURCE ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const stopped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<ChildReady>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('simulated replica process did not start within 30 s'));
    }, CHILD_START_TIMEOUT_MS);
    child.once('message', (message: ChildReady | ChildFailed) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve(message);
      else reject(new Error(message.message));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulated replica process exited with code ${code} before it was ready`));
    });
    child.send(resolved);
  });
  let closing: Promise<void> | undefined;
  return {
    url: ready.url,
    port: ready.port,
    servedModelName: ready.servedModelName,
    options: resolved,
    totalBlocks: ready.totalBlocks,
    maxModelLen: ready.maxModelLen,
    async stats(): Promise<SimEngineStats> {
      const response = await fetch(`${ready.url}/sim/stats`);
      return (await response.json()) as SimEngineStats;
    },
    async setFaults(faults): Promise<void> {
      const response = await fetch(`${ready.url}/sim/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(FaultConfig.parse(faults)),
      });
      if (!response.ok) throw new Error(`setFaults: HTTP ${response.status} ${await response.text()}`);
    },
    close(): Promise<void> {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await stopped;
        clearTimeout(timer);
      })();
      return closing;
    },
    stopped,
  };
}

export interface SimFleet {
  readonly replicas: readonly SimReplica[];
  close(): Promise<void>;
}

/** Start several replicas; if one fails to start, the others are closed and the error is thrown. */
export async function startSimFleet(inputs: readonly SimReplicaOptions[]): Promise<SimFleet> {
  const results = await Promise.allSettled(inputs.map((input) => startSimReplica(input)));
  const replicas = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await Promise.all(replicas.map((replica) => replica.close()));
    throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
  }
  return { replicas, close: async () => void (await Promise.all(replicas.map((replica) => replica.close()))) };
}
