// Where a model's files come from. A model is either a local folder (Hugging Face layout: config.json,
// tokenizer.json, tokenizer_config.json, onnx/model.onnx) or a hub id that transformers.js downloads into a cache
// folder with the same layout. Offline mode never touches the network and names the missing files.
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { env } from '@huggingface/transformers';
import { z } from 'zod';
import { ModelUnavailableError } from '../errors.ts';
import { defaultCacheDir } from './cache-dir.ts';

export const ModelSourceSchema = z.object({
  /** A hub id (`Xenova/all-MiniLM-L6-v2`) or a path to a local model folder. */
  model: z.string().min(1),
  /** Download cache for hub ids (default: ~/.cache/switchyard/models). */
  cacheDir: z.string().optional(),
  offline: z.boolean().default(false),
  dtype: z.enum(['fp32', 'q8']).default('fp32'),
});
export type ModelSource = z.infer<typeof ModelSourceSchema>;

export interface ResolvedModel {
  /** The id handed to transformers.js (relative to `localModelPath`). */
  id: string;
  localModelPath: string;
  allowRemote: boolean;
  cacheDir: string;
  /** Absolute folder where the files are (or will be, once downloaded). */
  folder: string;
  onnxFile: string;
}

export { defaultCacheDir };

export function isLocalFolder(model: string): boolean {
  return isAbsolute(model) || model.startsWith('./') || model.startsWith('../') || existsSync(model);
}

export function resolveModel(source: ModelSource): ResolvedModel {
  const cacheDir = source.cacheDir ?? defaultCacheDir();
  const onnxName = source.dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx';
  if (isLocalFolder(source.model)) {
    const folder = resolve(source.model);
    return {
      id: basename(folder),
      localModelPath: dirname(folder),
      allowRemote: false,
      cacheDir,
      folder,
      onnxFile: join(folder, 'onnx', onnxName),
    };
  }
  const folder = join(cacheDir, source.model);
  return {
    id: source.model,
    localModelPath: cacheDir,
    allowRemote: !source.offline,
    cacheDir,
    folder,
    onnxFile: join(folder, 'onnx', onnxName),
  };
}

const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** Throws a ModelUnavailableError naming every missing file, unless the files may still be downloaded. */
export function assertModelFiles(resolved: ResolvedModel, dtype: ModelSource['dtype']): void {
  if (resolved.allowRemote) return;
  const wanted = [...REQUIRED, join('onnx', dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx')];
  const missing = wanted.filter((file) => !existsSync(join(resolved.folder, file)));
  if (missing.length > 0) {
    throw new ModelUnavailableError(
      `Model "${resolved.id}" is not available offline: missing ${missing.map((file) => join(resolved.folder, file)).join(', ')}. ` +
        'Download it once with network access, or point the model setting at a local folder.',
    );
  }
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * transformers.js reads its settings from one global `env`; loads are serialised so two models with different
 * sources never see each other's settings.
 */
export function withModelEnvironment<T>(resolved: ResolvedModel, load: () => Promise<T>): Promise<T> {
  const run = queue.then(async () => {
    env.allowLocalModels = true;
    env.allowRemoteModels = resolved.allowRemote;
    env.localModelPath = resolved.localModelPath.endsWith('/')
      ? resolved.localModelPath
      : `${resolved.localModelPath}/`;
    env.cacheDir = resolved.cacheDir;
    env.useFSCache = resolved.allowRemote;
    return load();
  });
  queue = run.catch(() => undefined);
  return run;
}

export function describeLoadFailure(resolved: ResolvedModel, error: unknown): ModelUnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ModelUnavailableError(`Could not load model "${resolved.id}" from ${resolved.folder}: ${reason}`, {
    cause: error,
  });
}
