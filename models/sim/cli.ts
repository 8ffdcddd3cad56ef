// `switchyard sim`: start simulated replicas on consecutive ports and keep them up until SIGINT/SIGTERM.
import type { Command } from 'commander';
import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors.ts';
import { ModelId } from '../catalog/models.ts';
import { faultConfigFromSpec } from './faults.ts';
import { type SimReplicaOptions, startSimFleet } from './index.ts';
import { parseLoraModule } from './lora.ts';

interface SimCommandOptions {
  model: string;
  gpu: string;
  replicas: string;
  port: string;
  host: string;
  tp?: string;
  dtype: string;
  speed: string;
  legacyMetrics?: boolean;
  fault?: string;
  profile: string;
  apiKey?: string;
  servedModelName?: string;
  maxNumSeqs?: string;
  maxNumBatchedTokens?: string;
  maxModelLen?: string;
  kvBlocks?: string;
  loadingMs?: string;
  processes?: boolean;
  mode: string;
  script?: string;
  enableLora?: boolean;
  loraModules?: string[];
  maxLoras?: string;
  maxLoraRank?: string;
  maxCpuLoras?: string;
  loraLoadMs?: string;
  allowRuntimeLoraUpdating?: boolean;
}

const PositiveInt = z.coerce.number().int().min(1);
const Milliseconds = z.coerce.number().min(0);

/** One option's value through its schema; a bad value is the caller's mistake, reported with the option's name. */
function flag<T>(name: string, schema: z.ZodType<T>, value: string): T {
  const parsed = schema.safeParse(value.trim() === '' ? Number.NaN : value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const wanted =
    issue?.code === 'invalid_type'
      ? 'expected a number'
      : (issue?.message.replace(/^Too (small|big): expected number to be /, 'must be ') ?? 'invalid');
  throw new InvalidRequestError(`--${name}: ${wanted}, got "${value}"`);
}

/** The per-replica options from the command line (replica `index` listens on port + index). */
export function replicaOptionsFromCli(options: SimCommandOptions, index: number): SimReplicaOptions {
  const basePort = flag('port', z.coerce.number().int().min(0).max(65535), options.port);
  if (options.profile === 'vllm' && !(ModelId.options as readonly string[]).includes(options.model)) {
    throw new InvalidRequestError(`--model: unknown model "${options.model}"; known: ${ModelId.options.join(', ')}`);
  }
  const replica: SimReplicaOptions = {
    model: options.model,
    gpu: options.gpu as SimReplicaOptions['gpu'],
    dtype: options.dtype as SimReplicaOptions['dtype'],
    host: options.host,
    port: basePort === 0 ? 0 : basePort + index,
    speed: flag('speed', z.coerce.number().positive(), options.speed),
    metricsGeneration: options.legacyMetrics ? 'legacy' : 'current',
    profile: options.profile as SimReplicaOptions['profile'],
    responseMode: options.mode as SimReplicaOptions['responseMode'],
    isolation: options.processes ? 'process' : 'in-process',
    seed: index,
  };
  if (options.tp !== undefined) replica.tensorParallel = flag('tp', PositiveInt, options.tp);
  if (options.fault !== undefined) replica.faults = faultFlag(options.fault);
  if (options.apiKey !== undefined) replica.apiKey = options.apiKey;
  if (options.servedModelName !== undefined) replica.servedModelName = options.servedModelName;
  if (options.maxNumSeqs !== undefined) replica.maxNumSeqs = flag('max-num-seqs', PositiveInt, options.maxNumSeqs);
  if (options.maxNumBatchedTokens !== undefined)
    replica.maxNumBatchedTokens = flag('max-num-batched-tokens', PositiveInt, options.maxNumBatchedTokens);
  if (options.maxModelLen !== undefined) replica.maxModelLen = flag('max-model-len', PositiveInt, options.maxModelLen);
  if (options.kvBlocks !== undefined) replica.kvBlocks = flag('kv-blocks', PositiveInt, options.kvBlocks);
  if (options.loadingMs !== undefined) replica.loadingMs = flag('loading-ms', Milliseconds, options.loadingMs);
  // LoRA values are checked even without --enable-lora: a typo must not pass silently.
  const loraModules = (options.loraModules ?? []).map((spec) => {
    try {
      return parseLoraModule(spec);
    } catch (error) {
      throw new InvalidRequestError(error instanceof Error ? error.message : String(error));
    }
  });
  const lora = {
    ...(options.maxLoras !== undefined ? { maxLoras: flag('max-loras', PositiveInt, options.maxLoras) } : {}),
    ...(options.maxLoraRank !== undefined
      ? { maxLoraRank: flag('max-lora-rank', PositiveInt, options.maxLoraRank) }
      : {}),
    ...(options.maxCpuLoras !== undefined
      ? { maxCpuLoras: flag('max-cpu-loras', PositiveInt, options.maxCpuLoras) }
      : {}),
    ...(options.loraLoadMs !== undefined ? { loadMs: flag('lora-load-ms', Milliseconds, options.loraLoadMs) } : {}),
  };
  if (options.enableLora || options.loraModules !== undefined) {
    replica.lora = {
      modules: loraModules,
      runtimeUpdating:
        options.allowRuntimeLoraUpdating === true ||
        /^(1|true)$/i.test(process.env['VLLM_ALLOW_RUNTIME_LORA_UPDATING'] ?? ''),
      ...lora,
    };
  }
  if (options.script !== undefined) {
    replica.scriptedText = options.script;
    replica.responseMode = 'script';
  }
  return replica;
}

function faultFlag(spec: string): ReturnType<typeof faultConfigFromSpec> {
  try {
    return faultConfigFromSpec(spec);
  } catch (error) {
    throw new InvalidRequestError(
      `--fault: ${error instanceof Error ? error.message.replace(/^x-sim-fault: /, '') : String(error)}`,
    );
  }
}

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('start simulated vLLM replicas (GPU-free): OpenAI-compatible API, vLLM metrics, load-driven latency')
    .option('--model <id>', 'catalog model id (hosted profile: API model name)', 'llama-3.1-8b')
    .option('--gpu <id>', 'a10g | l4 | a100-40gb | a100-80gb | h100', 'h100')
    .option('--replicas <n>', 'number of replicas, on consecutive ports', '1')
    .option('--port <port>', 'port of the first replica (0 = random ports)', '8000')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--tp <n>', 'tensor-parallel size (default: the smallest that fits)')
    .option('--dtype <dtype>', 'bf16 | fp8 | int4-awq', 'bf16')
    .option('--speed <factor>', 'simulated time runs this many times faster than real time', '1')
    .option('--legacy-metrics', 'emit the older vLLM metric names (gpu_cache_usage_perc, gpu_prefix_cache_*)')
    .option('--fault <spec>', 'fault injection for every request, e.g. "rate=0.1;error=503" or "latency=200"')
    .option('--profile <profile>', 'vllm | hosted (OpenAI-like)', 'vllm')
    .option('--api-key <key>', 'require this Bearer key')
    .option('--served-model-name <name>', 'model name clients use')
    .option('--max-num-seqs <n>', 'vLLM --max-num-seqs')
    .option('--max-num-batched-tokens <n>', 'vLLM --max-num-batched-tokens')
    .option('--max-model-len <n>', 'vLLM --max-model-len')
    .option('--kv-blocks <n>', 'override the KV-cache size in 16-token blocks')
    .option('--loading-ms <ms>', 'slow start: simulated ms of 503 from /health')
    .option('--processes', 'run each replica in its own process')
    .option('--mode <mode>', 'generate | echo | script', 'generate')
    .option('--script <text>', 'answer every request with exactly this text')
    .option('--enable-lora', 'serve LoRA adapters (vLLM --enable-lora)')
    .option('--lora-modules <specs...>', 'adapters at start-up: name=path or JSON {"name","path","base_model_name"}')
    .option('--max-loras <n>', 'distinct adapters per engine step (vLLM default 1)')
    .option('--max-lora-rank <n>', 'largest adapter rank accepted (vLLM default 16)')
    .option('--max-cpu-loras <n>', 'adapters kept in host memory (default: --max-loras)')
    .option('--lora-load-ms <ms>', 'simulated ms to read one adapter from disk (default 300)')
    .option(
      '--allow-runtime-lora-updating',
      'serve /v1/load_lora_adapter and /v1/unload_lora_adapter (also VLLM_ALLOW_RUNTIME_LORA_UPDATING=True)',
    )
    .action(async (options: SimCommandOptions) => {
      // Signals are caught from the start: one that arrives while replicas start stops them once they are up.
      const signalled = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      // An invalid option value throws here, before anything starts: the CLI prints it as one line and exits 2.
      const count = flag('replicas', PositiveInt, options.replicas);
      const replicas = Array.from({ length: count }, (_, index) => replicaOptionsFromCli(options, index));
      let fleet;
      try {
        fleet = await startSimFleet(replicas);
      } catch (error) {
        // The fleet validates the enum options (--gpu, --dtype, --profile, --mode): the caller's mistake, exit 2.
        if (error instanceof z.ZodError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        console.error(`switchyard sim: ${message}`);
        process.exitCode = 1;
        return;
      }
      for (const replica of fleet.replicas) {
        const sizing =
          replica.options.profile === 'vllm'
            ? ` (${replica.totalBlocks} KV blocks, max_model_len ${replica.maxModelLen})`
            : '';
        const where = replica.options.profile === 'vllm' ? ` on ${replica.options.gpu}` : '';
        console.log(`${replica.options.profile} ${replica.servedModelName}${where}: ${replica.url}/v1${sizing}`);
      }
      console.log(`speed ${options.speed}×; Ctrl-C to stop`);
      await signalled;
      // Child replicas also stop on their own when this process goes (IPC disconnect); a hung close is cut short.
      setTimeout(() => process.exit(0), 5_000).unref();
      await fleet.close();
      process.exit(0);
    });
}
