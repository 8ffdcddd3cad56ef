// `switchyard engine build llamacpp`: fetches llama.cpp's source the way npm ships it (the git bundle inside the
// node-llama-cpp tarball, fetched with `npm pack`, so none of that package's ~700 MB of prebuilt binaries is
// installed), builds llama-server for the CPU with cmake and installs it into the engine cache. A finished install is
// reused: the manifest is written last, so an interrupted build is redone, never half-used.
import { CliError } from '../../../core/errors.ts';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ENGINE_VERSION,
  SOURCE_PACKAGE,
  SOURCE_PACKAGE_VERSION,
  VOCAB_FILE,
  engineCacheRoot,
  llamaCppLayout,
  locateLlamaServer,
  type BuildManifest,
  type Environment,
  type LlamaServerInstall,
} from './paths.ts';

/** CPU-only, no network code in the server (no model downloads), no tests or examples: the server target only. */
export const CMAKE_ARGS: readonly string[] = [
  '-DCMAKE_BUILD_TYPE=Release',
  '-DLLAMA_CURL=OFF',
  '-DLLAMA_OPENSSL=OFF',
  '-DLLAMA_BUILD_TESTS=OFF',
  '-DLLAMA_BUILD_EXAMPLES=OFF',
  '-DBUILD_SHARED_LIBS=OFF',
];

export type CommandRunner = (file: string, args: readonly string[], options: { cwd: string }) => Promise<void>;

export interface BuildOptions {
  /** Cache root (default: engineCacheRoot()). */
  root?: string;
  /** A llama.cpp checkout to build instead of the npm bundle; an existing `build/` tree in it is reused as configured. */
  source?: string;
  /** Rebuild even when an install exists. */
  force?: boolean;
  jobs?: number;
  log?: (line: string) => void;
  run?: CommandRunner;
  environment?: Environment;
}

export interface BuildResult {
  install: LlamaServerInstall;
  /** False when a finished install was found and reused. */
  built: boolean;
  buildSeconds: number;
}

/** Building llama-server failed (`switchyard engine build`): a CLI error. */
export class EngineBuildError extends CliError {}

const defaultRunner: CommandRunner = (file, args, options) =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', (error) => reject(new EngineBuildError(`cannot run ${file}: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else
        reject(
          new EngineBuildError(`${file} ${args.join(' ')} failed (${signal ? `signal ${signal}` : `exit ${code}`})`),
        );
    });
  });

export async function buildLlamaServer(options: BuildOptions = {}): Promise<BuildResult> {
  const environment = options.environment ?? process.env;
  const root = options.root ?? engineCacheRoot(environment);
  const layout = llamaCppLayout(root);
  const log = options.log ?? ((line: string) => console.error(line));
  const run = options.run ?? defaultRunner;
  const cacheEnvironment = { ...environment, SWITCHYARD_ENGINE_CACHE: root, SWITCHYARD_LLAMA_SERVER: '' };
  const existing = locateLlamaServer(cacheEnvironment);
  if (existing && !options.force) {
    log(`llama-server ${ENGINE_VERSION} already built: ${existing.binary}`);
    return { install: existing, built: false, buildSeconds: 0 };
  }
  const started = performance.now();
  rmSync(layout.manifest, { force: true });
  const work = join(layout.dir, 'work');
  mkdirSync(work, { recursive: true });

  let source: string;
  if (options.source !== undefined) {
    source = resolve(options.source);
    if (!existsSync(join(source, 'CMakeLists.txt')))
      throw new EngineBuildError(`${source} is not a llama.cpp checkout (no CMakeLists.txt)`);
  } else {
    source = join(work, 'llama.cpp');
    if (!existsSync(join(source, 'CMakeLists.txt'))) {
      log(`fetching ${SOURCE_PACKAGE}@${SOURCE_PACKAGE_VERSION} with npm pack (for its llama.cpp git bundle)`);
      const tarball = join(work, `${SOURCE_PACKAGE}-${SOURCE_PACKAGE_VERSION}.tgz`);
      if (!existsSync(tarball))
        await run(
          'npm',
          ['pack', `${SOURCE_PACKAGE}@${SOURCE_PACKAGE_VERSION}`, '--silent', '--pack-destination', work],
          { cwd: work },
        );
      await run('tar', ['xzf', tarball, '-C', work, 'package/llama/gitRelease.bundle'], { cwd: work });
      rmSync(source, { recursive: true, force: true });
      await run('git', ['clone', '--quiet', join(work, 'package', 'llama', 'gitRelease.bundle'), source], {
        cwd: work,
      });
    }
  }
  const buildDir = join(source, 'build');
  const cmakeArgs = [...CMAKE_ARGS];
  if (!existsSync(join(buildDir, 'CMakeCache.txt'))) {
    log(`configuring ${source} (${cmakeArgs.join(' ')})`);
    await run('cmake', ['-S', source, '-B', buildDir, ...cmakeArgs], { cwd: source });
  } else {
    log(`reusing the configured build tree ${buildDir}`);
  }
  const jobs = options.jobs ?? availableParallelism();
  log(`building llama-server with ${jobs} jobs (7–9 min on 2 cores)`);
  await run('cmake', ['--build', buildDir, '--target', 'llama-server', '-j', String(jobs)], { cwd: source });

  const binDir = join(buildDir, 'bin');
  const builtBinary = join(binDir, 'llama-server');
  if (!existsSync(builtBinary)) throw new EngineBuildError(`the build finished without ${builtBinary}`);
  const vocab = join(source, 'models', VOCAB_FILE);
  if (!existsSync(vocab)) throw new EngineBuildError(`${vocab} is missing from the llama.cpp source`);
  installFiles(layout, binDir, builtBinary, vocab);
  const buildSeconds = (performance.now() - started) / 1_000;
  const manifest: BuildManifest = {
    version: ENGINE_VERSION,
    builtAt: new Date().toISOString(),
    buildSeconds,
    source,
    cmakeArgs,
  };
  writeFileSync(layout.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  const install = locateLlamaServer(cacheEnvironment);
  if (!install) throw new EngineBuildError(`llama-server was installed into ${layout.dir} but cannot be found there`);
  log(`llama-server installed: ${install.binary} (${buildSeconds.toFixed(0)} s)`);
  return { install, built: true, buildSeconds };
}

function installFiles(layout: ReturnType<typeof llamaCppLayout>, binDir: string, binary: string, vocab: string): void {
  for (const dir of [join(layout.dir, 'bin'), layout.libDir, join(layout.dir, 'vocab'), layout.modelsDir])
    mkdirSync(dir, { recursive: true });
  copyFileSync(binary, layout.binary);
  // A BUILD_SHARED_LIBS tree (an operator's own) links libllama/libggml dynamically: take them along.
  for (const name of readdirSync(binDir)) {
    if (/\.so(\.\d+)*$/.test(name)) copyFileSync(join(binDir, name), join(layout.libDir, name));
  }
  copyFileSync(vocab, layout.vocab);
}
