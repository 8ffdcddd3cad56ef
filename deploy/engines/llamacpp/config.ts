// What a deploy pool says about its llama-server replicas (zod; types derived) and the command line built from it.
// The flags are llama-server's own (`llama-server --help`): one process per replica, `--parallel` slots sharing
// `--ctx-size` tokens of context (each slot gets ctx-size ÷ parallel), continuous batching, Prometheus `/metrics`.
import { z } from 'zod';

export const LlamaCppServerOptions = z.strictObject({
  /** A GGUF file (e.g. a Llama 3.1 8B Q4_K_M), or `tiny`: the random-weight test model, generated on first use. */
  model: z.string().min(1).default('tiny'),
  /** Name llama-server reports in responses (`--alias`); default: the file name without `.gguf`. */
  alias: z.string().min(1).optional(),
  /** Slots: requests decoded together; more arrive queued (`llamacpp:requests_deferred`). */
  parallel: z.number().int().min(1).max(256).default(4),
  /** Total context in tokens, split evenly across the slots. */
  ctxSize: z.number().int().min(64).default(4096),
  /** CPU threads for decoding (`--threads`); one replica per core is the usual CPU layout. */
  threads: z.number().int().min(1).default(1),
  /** Layers offloaded to a GPU (`--n-gpu-layers`); 0 on CPU-only builds. */
  gpuLayers: z.number().int().min(0).default(0),
  /** Appended as they are (e.g. `--cache-type-k`, `q8_0`). */
  extraArgs: z.array(z.string()).default([]),
  /** Container image (docker driver): llama.cpp's official server image; never pulled by Switchyard itself. */
  image: z.string().default('ghcr.io/ggml-org/llama.cpp'),
  tag: z.string().default('server'),
});
export type LlamaCppServerOptions = z.output<typeof LlamaCppServerOptions>;

export function defaultAlias(options: LlamaCppServerOptions, modelFile: string): string {
  if (options.alias !== undefined) return options.alias;
  if (options.model === 'tiny') return 'tiny-llama';
  const base = modelFile.split('/').pop() ?? modelFile;
  return base.replace(/\.gguf$/i, '');
}

/** llama-server's command line (no binary) for one replica serving `modelFile` on host:port. */
export function llamaServerArgs(
  options: LlamaCppServerOptions,
  modelFile: string,
  port: number,
  host: string,
): string[] {
  return [
    '--model',
    modelFile,
    '--alias',
    defaultAlias(options, modelFile),
    '--host',
    host,
    '--port',
    String(port),
    '--parallel',
    String(options.parallel),
    '--ctx-size',
    String(options.ctxSize),
    '--threads',
    String(options.threads),
    '--n-gpu-layers',
    String(options.gpuLayers),
    '--cont-batching',
    '--metrics',
    '--slots',
    ...options.extraArgs,
  ];
}
