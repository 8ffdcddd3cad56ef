// Building one in-process replica: deployment sizing → KV blocks, step-time model → engine, metrics, Express app,
// a listening server. `index.ts` adds the child-process variant on top.
import type { AddressInfo } from 'node:net';
import { type Server, createServer } from 'node:http';
import { getModel } from '../catalog/models.ts';
import { GPUS } from '../catalog/gpus.ts';
import {
  type Deployment,
  KV_BLOCK_TOKENS,
  kvCapacityBlocks,
  maxModelLen as sizingMaxModelLen,
  smallestTensorParallel,
} from '../sizing.ts';
import { createStepTimeModel } from '../step-time.ts';
import { RealClock } from './clock.ts';
import { warmTokenizer } from './tokenizer.ts';
import { type EngineStats, type GenerationEngine, SimEngine } from './engine.ts';
import { FaultConfig, type FaultConfigInput, FaultInjector } from './faults.ts';
import { HostedEngine } from './hosted-engine.ts';
import { SimMetrics } from './metrics.ts';
import { type ResolvedSimReplicaOptions, SimReplicaOptions } from './options.ts';
import { createSimApp } from './server.ts';
import { LoraManager, createLoraCostModel } from './lora.ts';
import type { LoraServing } from './lora-routes.ts';

export type SimEngineStats = EngineStats & { loading?: boolean };

export interface SimReplica {
  /** `http://host:port` (the OpenAI base URL is `${url}/v1`). */
  readonly url: string;
  readonly port: number;
  readonly servedModelName: string;
  readonly options: ResolvedSimReplicaOptions;
  /** KV-cache blocks and context limit the replica runs with (0 for hosted). */
  readonly totalBlocks: number;
  readonly maxModelLen: number;
  stats(): Promise<SimEngineStats>;
  /** Replace the replica-wide faults at run time (`{}` clears them); also `PUT /sim/faults`. */
  setFaults(faults: FaultConfigInput): Promise<void>;
  /** Stop serving; in-flight requests are cut. Idempotent. */
  close(): Promise<void>;
  /** Resolves when the replica stops for any reason (close, crash fault, child exit). */
  readonly stopped: Promise<void>;
}

interface EngineSetup {
  engine: GenerationEngine;
  metrics: SimMetrics | undefined;
  totalBlocks: number;
  maxModelLen: number;
  modelNames: string[];
  rootModel: string;
  lora?: LoraServing;
}

function setupEngine(options: ResolvedSimReplicaOptions, clock: RealClock): EngineSetup {
  if (options.profile === 'hosted') {
    const hosted = options.hosted ?? { ttftMs: 300, msPerToken: 12, msPerPromptToken: 0.02 };
    const engine = new HostedEngine(clock, hosted);
    const modelNames = hosted.models ?? [options.servedModelName ?? options.model];
    return {
      engine,
      metrics: undefined,
      totalBlocks: 0,
      maxModelLen: options.maxModelLen ?? 128_000,
      modelNames,
      rootModel: options.model,
    };
  }
  const model = getModel(options.model);
  const gpu = GPUS[options.gpu];
  const base = {
    model,
    gpu,
    dtype: options.dtype,
    gpuMemoryUtilization: options.gpuMemoryUtilization,
    maxNumBatchedTokens: options.maxNumBatchedTokens,
  };
  const tensorParallel = options.tensorParallel ?? smallestTensorParallel(base);
  if (tensorParallel === undefined)
    throw new Error(`${model.id} (${options.dtype}) does not fit on up to 8× ${gpu.id}`);
  const deployment: Deployment = { ...base, tensorParallel };
  const totalBlocks = options.kvBlocks ?? kvCapacityBlocks(deployment);
  if (totalBlocks <= 0)
    throw new Error(
      `${model.id} (${options.dtype}) does not fit on ${tensorParallel}× ${gpu.id}: no room for a KV cache`,
    );
  // vLLM refuses a max_model_len the cache cannot hold; the simulator clamps instead.
  const maxModelLen = Math.min(
    options.maxModelLen ?? sizingMaxModelLen(deployment),
    totalBlocks * KV_BLOCK_TOKENS,
    model.maxContext,
  );
  const servedName = options.servedModelName ?? model.id;
  const lora = options.lora
    ? new LoraManager(options.lora, servedName, createLoraCostModel(model, gpu, tensorParallel))
    : undefined;
  // Static adapters are read at start-up, before the server answers (vLLM fails to start on a bad one).
  for (const module of options.lora?.modules ?? []) lora?.register(module.name, module.path, module.base);
  const engine = new SimEngine({
    ...(lora ? { lora } : {}),
    clock,
    stepTime: createStepTimeModel({ model, gpu, tensorParallel, dtype: options.dtype }),
    totalBlocks,
    maxNumSeqs: options.maxNumSeqs,
    maxNumBatchedTokens: options.maxNumBatchedTokens,
    enablePrefixCaching: options.enablePrefixCaching,
  });
  const servedModelName = options.servedModelName ?? model.id;
  const metrics = new SimMetrics({
    modelName: servedModelName,
    generation: options.metricsGeneration,
    maxModelLen,
    cacheConfig: {
      blockSize: KV_BLOCK_TOKENS,
      numGpuBlocks: totalBlocks,
      gpuMemoryUtilization: options.gpuMemoryUtilization,
      enablePrefixCaching: options.enablePrefixCaching,
    },
    stats: () => engine.stats(),
    ...(options.lora ? { maxLoras: options.lora.maxLoras } : {}),
  });
  engine.addObserver(metrics);
  const loraServing = lora ? { manager: lora, stall: (ms: number) => engine.stall(ms), clock } : undefined;
  return {
    engine,
    metrics,
    totalBlocks,
    maxModelLen,
    modelNames: [servedModelName],
    rootModel: model.huggingFaceId,
    ...(loraServing ? { lora: loraServing } : {}),
  };
}

/**
 * Start a replica in this process. `onCrash` replaces the in-process crash (abrupt close) — the child process passes
 * one that kills itself.
 */
export async function startInProcessReplica(input: SimReplicaOptions, onCrash?: () => void): Promise<SimReplica> {
  const options = SimReplicaOptions.parse(input);
  warmTokenizer();
  const clock = new RealClock(options.speed);
  const setup = setupEngine(options, clock);
  const server: Server = createServer();
  let resolveStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      setup.engine.shutdown();
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      server.closeAllConnections();
    }).then(resolveStopped);
    return closing;
  };
  const readyAtMs = clock.now() + options.loadingMs;
  const faults = new FaultInjector(options.faults ?? FaultConfig.parse({}), options.seed);
  const app = createSimApp({
    profile: options.profile,
    modelNames: setup.modelNames,
    rootModel: setup.rootModel,
    maxModelLen: setup.maxModelLen,
    engine: setup.engine,
    metrics: setup.metrics,
    faults,
    responseMode: options.responseMode,
    scriptedText: options.scriptedText,
    apiKey: options.apiKey,
    readyAtMs,
    crash: onCrash ?? (() => void close()),
    ...(setup.lora ? { lora: setup.lora } : {}),
  });
  server.on('request', app);
  // Long streams and idle keep-alive clients must not be cut by Node's default timeouts.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    servedModelName: setup.modelNames[0] ?? options.model,
    options,
    totalBlocks: setup.totalBlocks,
    maxModelLen: setup.maxModelLen,
    stats: () => Promise.resolve({ ...setup.engine.stats(), loading: clock.now() < readyAtMs }),
    setFaults: (input) => {
      faults.setConfig(FaultConfig.parse(input));
      return Promise.resolve();
    },
    close,
    stopped,
  };
}
