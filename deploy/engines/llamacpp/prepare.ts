// Makes a llama-server pool runnable on this host before any replica starts: finds (or, when allowed, builds) the
// binary in the engine cache, resolves the GGUF (generating the tiny model on first use) and checks it exists, so a
// wrong path fails once with a clear message instead of once per replica start.
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ResolvedLlamaCppPool } from '../../config.ts';
import type { LlamaCppReplicaEngine } from '../../contracts.ts';
import { DeployConfigError } from '../../errors.ts';
import { buildLlamaServer } from './build.ts';
import { llamaServerArgs } from './config.ts';
import { locateLlamaServer, missingEngineMessage, type Environment } from './paths.ts';
import { generateTinyModel, tinyModelFileName } from './tiny-model.ts';

export interface PrepareOptions {
  /** Build llama-server when it is not installed (minutes); otherwise fail with the command to run. */
  build?: boolean;
  /** Directory relative GGUF paths are resolved against (the config file's directory). */
  baseDir?: string;
  environment?: Environment;
  log?: (line: string) => void;
}

export async function prepareLlamaCppPool(
  pool: ResolvedLlamaCppPool,
  options: PrepareOptions = {},
): Promise<ResolvedLlamaCppPool> {
  const environment = options.environment ?? process.env;
  let install = locateLlamaServer(environment);
  if (!install) {
    if (!options.build)
      throw new DeployConfigError(`pool ${pool.name}: ${missingEngineMessage(environment)}`, pool.name);
    options.log?.(`pool ${pool.name}: llama-server is not built yet; building it now (once per machine)`);
    install = (await buildLlamaServer({ environment, ...(options.log ? { log: options.log } : {}) })).install;
  }
  let modelFile: string;
  if (pool.llamacpp.model === 'tiny') {
    if (!existsSync(install.vocab)) {
      throw new DeployConfigError(
        `pool ${pool.name}: the tiny model needs ${install.vocab}; run \`npx switchyard engine build llamacpp\``,
        pool.name,
      );
    }
    modelFile = generateTinyModel(install.vocab, join(install.modelsDir, tinyModelFileName()));
  } else {
    const given = pool.llamacpp.model;
    modelFile = isAbsolute(given) ? given : resolve(options.baseDir ?? process.cwd(), given);
    if (!existsSync(modelFile))
      throw new DeployConfigError(`pool ${pool.name}: GGUF file not found: ${modelFile}`, pool.name);
  }
  pool.runtime = { binary: install.binary, env: install.env, modelFile };
  return pool;
}

/** What a driver needs to run one replica of a prepared pool. */
export function replicaEngine(pool: ResolvedLlamaCppPool, port: number, host: string): LlamaCppReplicaEngine {
  const runtime = pool.runtime;
  if (!runtime) throw new DeployConfigError(`pool ${pool.name}: llama-server not prepared`, pool.name);
  return {
    kind: 'llamacpp',
    binary: runtime.binary,
    env: runtime.env,
    modelFile: runtime.modelFile,
    image: `${pool.llamacpp.image}:${pool.llamacpp.tag}`,
    argsFor: (modelFile) => llamaServerArgs(pool.llamacpp, modelFile, port, host),
  };
}
