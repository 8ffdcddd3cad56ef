// Where the llama.cpp engine lives on this machine: a machine-level cache outside the repository (so CI runs and
// worktrees on one box share one build), one directory per source version, holding the llama-server binary, the
// shared libraries it was linked against, the vocab-only GGUF the tiny-model generator reads, and generated models.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The npm package whose tarball carries the llama.cpp source as a git bundle (`llama/gitRelease.bundle`). */
export const SOURCE_PACKAGE = 'node-llama-cpp';
export const SOURCE_PACKAGE_VERSION = '3.21.1';
/** Cache key of a build from that source: a different pin builds into a different directory. */
export const ENGINE_VERSION = `${SOURCE_PACKAGE}-${SOURCE_PACKAGE_VERSION}`;
/** The Llama 3 BPE tokenizer as a vocab-only GGUF, under `models/` in llama.cpp's source. */
export const VOCAB_FILE = 'ggml-vocab-llama-bpe.gguf';

export type Environment = Readonly<Record<string, string | undefined>>;

/** `SWITCHYARD_ENGINE_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/switchyard/engines`. */
export function engineCacheRoot(environment: Environment = process.env): string {
  const explicit = environment['SWITCHYARD_ENGINE_CACHE'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = environment['XDG_CACHE_HOME'];
  const base = xdg !== undefined && xdg !== '' ? xdg : join(environment['HOME'] ?? homedir(), '.cache');
  return join(base, 'switchyard', 'engines');
}

export interface LlamaCppLayout {
  /** `<root>/llamacpp/<version>` */
  dir: string;
  binary: string;
  /** Shared libraries of a BUILD_SHARED_LIBS build; put on LD_LIBRARY_PATH. */
  libDir: string;
  vocab: string;
  /** Generated GGUFs (the tiny model). */
  modelsDir: string;
  /** JSON written last by a finished build: its presence marks the install complete. */
  manifest: string;
}

export function llamaCppLayout(root: string = engineCacheRoot()): LlamaCppLayout {
  const dir = join(root, 'llamacpp', ENGINE_VERSION);
  return {
    dir,
    binary: join(dir, 'bin', 'llama-server'),
    libDir: join(dir, 'lib'),
    vocab: join(dir, 'vocab', VOCAB_FILE),
    modelsDir: join(dir, 'models'),
    manifest: join(dir, 'build.json'),
  };
}

export interface BuildManifest {
  version: string;
  builtAt: string;
  buildSeconds: number;
  source: string;
  cmakeArgs: string[];
}

export interface LlamaServerInstall {
  binary: string;
  /** Environment the binary needs (LD_LIBRARY_PATH for the shared libraries next to it). */
  env: Record<string, string>;
  vocab: string;
  modelsDir: string;
  manifest: BuildManifest | undefined;
}

/**
 * The installed llama-server, or undefined. `SWITCHYARD_LLAMA_SERVER` points at a binary built elsewhere (the tiny
 * model then still needs the cache's vocab file, which `engine build` installs).
 */
export function locateLlamaServer(environment: Environment = process.env): LlamaServerInstall | undefined {
  const layout = llamaCppLayout(engineCacheRoot(environment));
  const override = environment['SWITCHYARD_LLAMA_SERVER'];
  const manifest = readManifest(layout.manifest);
  if (override !== undefined && override !== '') {
    if (!existsSync(override)) return undefined;
    return { binary: override, env: {}, vocab: layout.vocab, modelsDir: layout.modelsDir, manifest };
  }
  if (manifest === undefined || !existsSync(layout.binary)) return undefined;
  const inherited = environment['LD_LIBRARY_PATH'];
  return {
    binary: layout.binary,
    env: { LD_LIBRARY_PATH: inherited ? `${layout.libDir}:${inherited}` : layout.libDir },
    vocab: layout.vocab,
    modelsDir: layout.modelsDir,
    manifest,
  };
}

function readManifest(path: string): BuildManifest | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BuildManifest;
  } catch {
    return undefined;
  }
}

/** The message every caller shows when the engine is missing. */
export function missingEngineMessage(environment: Environment = process.env): string {
  return (
    `llama-server is not installed in ${llamaCppLayout(engineCacheRoot(environment)).dir}; ` +
    'run `npx switchyard engine build llamacpp` (needs cmake, a C++ compiler and git; 7–9 min on 2 cores)'
  );
}
