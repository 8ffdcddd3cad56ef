// Reads `vllm serve` arguments (as models/sizing.ts `vllmLaunchArgs` writes them) back into simulator options, so
// the stand-in for vllm/vllm-openai takes exactly the command line a real vLLM container gets.
import { MODELS, ModelId } from '../../models/catalog/models.ts';
import { GpuId } from '../../models/catalog/gpus.ts';
import type { SimReplicaOptions } from '../../models/sim/options.ts';
import { parseLoraModule } from '../../models/sim/lora.ts';

const VALUE_FLAGS = new Set([
  '--model',
  '--served-model-name',
  '--tensor-parallel-size',
  '--max-model-len',
  '--gpu-memory-utilization',
  '--max-num-batched-tokens',
  '--max-num-seqs',
  '--dtype',
  '--quantization',
  '--port',
  '--host',
  '--download-dir',
  '--num-gpu-blocks-override',
  '--max-loras',
  '--max-lora-rank',
  '--max-cpu-loras',
]);

/** `--flag value` and `--flag=value` pairs; boolean flags map to 'true'. Unknown flags are kept (vLLM has hundreds). */
export function parseFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (!arg.startsWith('--')) continue;
    const equals = arg.indexOf('=');
    if (equals > 0) {
      flags.set(arg.slice(0, equals), arg.slice(equals + 1));
    } else if (VALUE_FLAGS.has(arg) && index + 1 < args.length) {
      flags.set(arg, args[++index]!);
    } else {
      flags.set(arg, 'true');
    }
  }
  return flags;
}

function modelIdFor(flags: Map<string, string>): ModelId {
  const served = flags.get('--served-model-name');
  const parsedServed = ModelId.safeParse(served);
  if (parsedServed.success) return parsedServed.data;
  const huggingFace = flags.get('--model');
  const match = Object.values(MODELS).find((model) => model.huggingFaceId === huggingFace || model.id === huggingFace);
  if (!match) throw new Error(`the simulator knows no model for --model ${huggingFace ?? '(missing)'}`);
  return match.id;
}

function integer(flags: Map<string, string>, name: string): number | undefined {
  const raw = flags.get(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got "${raw}"`);
  return value;
}

/**
 * Simulator options for a vLLM command line. The GPU type and time speed are not vLLM flags: they come from the
 * environment (`SWITCHYARD_SIM_GPU`, `SWITCHYARD_SIM_SPEED`), which the drivers set and real vLLM ignores.
 */
export function simOptionsFromVllmArgs(args: readonly string[], env: NodeJS.ProcessEnv): SimReplicaOptions {
  const flags = parseFlags(args);
  const model = modelIdFor(flags);
  const gpu = GpuId.parse(env['SWITCHYARD_SIM_GPU'] ?? 'h100');
  const speed = env['SWITCHYARD_SIM_SPEED'] === undefined ? 1 : Number(env['SWITCHYARD_SIM_SPEED']);
  const quantization = flags.get('--quantization');
  const options: SimReplicaOptions = {
    model,
    gpu,
    speed,
    dtype:
      quantization === 'fp8' ? 'fp8' : quantization === 'awq_marlin' || quantization === 'awq' ? 'int4-awq' : 'bf16',
    host: flags.get('--host') ?? '0.0.0.0',
    port: integer(flags, '--port') ?? 8000,
    servedModelName: flags.get('--served-model-name') ?? model,
    isolation: 'in-process',
  };
  const tensorParallel = integer(flags, '--tensor-parallel-size');
  if (tensorParallel !== undefined) options.tensorParallel = tensorParallel;
  const maxNumSeqs = integer(flags, '--max-num-seqs');
  if (maxNumSeqs !== undefined) options.maxNumSeqs = maxNumSeqs;
  const maxBatched = integer(flags, '--max-num-batched-tokens');
  if (maxBatched !== undefined) options.maxNumBatchedTokens = maxBatched;
  const maxModelLen = integer(flags, '--max-model-len');
  if (maxModelLen !== undefined) options.maxModelLen = maxModelLen;
  const utilization = flags.get('--gpu-memory-utilization');
  if (utilization !== undefined) options.gpuMemoryUtilization = Number(utilization);
  if (flags.has('--no-enable-prefix-caching')) options.enablePrefixCaching = false;
  const kvBlocks = integer(flags, '--num-gpu-blocks-override');
  if (kvBlocks !== undefined) options.kvBlocks = kvBlocks;
  if (flags.has('--enable-lora')) {
    const maxLoras = integer(flags, '--max-loras');
    const maxLoraRank = integer(flags, '--max-lora-rank');
    const maxCpuLoras = integer(flags, '--max-cpu-loras');
    options.lora = {
      modules: loraModules(args).map(parseLoraModule),
      runtimeUpdating: /^(1|true)$/i.test(env['VLLM_ALLOW_RUNTIME_LORA_UPDATING'] ?? ''),
      ...(maxLoras === undefined ? {} : { maxLoras }),
      ...(maxLoraRank === undefined ? {} : { maxLoraRank }),
      ...(maxCpuLoras === undefined ? {} : { maxCpuLoras }),
    };
  }
  const loadingMs =
    env['SWITCHYARD_SIM_LOADING_MS'] === undefined ? undefined : Number(env['SWITCHYARD_SIM_LOADING_MS']);
  if (loadingMs !== undefined) options.loadingMs = loadingMs;
  return options;
}

/** `--lora-modules a=/p b=/q` (vLLM takes one or more values, up to the next flag). */
export function loraModules(args: readonly string[]): string[] {
  const modules: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg.startsWith('--lora-modules=')) modules.push(arg.slice('--lora-modules='.length));
    if (arg !== '--lora-modules') continue;
    while (index + 1 < args.length && !args[index + 1]!.startsWith('--')) modules.push(args[++index]!);
  }
  return modules;
}
