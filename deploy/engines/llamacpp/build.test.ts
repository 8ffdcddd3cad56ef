// The build command's steps and cache rules, with the commands recorded instead of run (the real 7–9 min build is
// exercised by `.ci/run`, which calls `switchyard engine build llamacpp` before the suites that need the binary).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CMAKE_ARGS, EngineBuildError, buildLlamaServer, type CommandRunner } from './build.ts';
import { VOCAB_FILE, engineCacheRoot, llamaCppLayout, locateLlamaServer } from './paths.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const temp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'engine-build-'));
  dirs.push(dir);
  return dir;
};

/** Stands in for npm/tar/git/cmake: records each call and leaves the files the real tools would leave. */
function fakeTools(calls: string[][], options: { sharedLibs?: boolean } = {}): CommandRunner {
  return (file, args) => {
    calls.push([file, ...args]);
    if (file === 'git') {
      const source = args.at(-1)!;
      mkdirSync(join(source, 'models'), { recursive: true });
      writeFileSync(join(source, 'CMakeLists.txt'), '');
      writeFileSync(join(source, 'models', VOCAB_FILE), 'vocab');
    }
    if (file === 'cmake' && args[0] === '-S') {
      mkdirSync(args[3]!, { recursive: true });
      writeFileSync(join(args[3]!, 'CMakeCache.txt'), '');
    }
    if (file === 'cmake' && args[0] === '--build') {
      const bin = join(args[1]!, 'bin');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'llama-server'), '#!/bin/sh\n', { mode: 0o755 });
      if (options.sharedLibs) writeFileSync(join(bin, 'libllama.so'), '');
    }
    return Promise.resolve();
  };
}

describe('switchyard engine build llamacpp', () => {
  it('fetches the npm bundle, clones, configures CPU-only without curl, builds the server target and installs it', async () => {
    const root = temp();
    const calls: string[][] = [];
    const result = await buildLlamaServer({
      root,
      run: fakeTools(calls),
      log: () => undefined,
      jobs: 2,
      environment: {},
    });
    expect(result.built).toBe(true);
    expect(calls.map((call) => call[0])).toEqual(['npm', 'tar', 'git', 'cmake', 'cmake']);
    expect(calls[0]).toContain('node-llama-cpp@3.21.1');
    expect(calls[1]).toContain('package/llama/gitRelease.bundle');
    expect(calls[3]).toEqual(expect.arrayContaining([...CMAKE_ARGS]));
    expect(calls[3]).toContain('-DLLAMA_CURL=OFF');
    expect(calls[4]).toEqual(expect.arrayContaining(['--target', 'llama-server', '-j', '2']));
    const layout = llamaCppLayout(root);
    expect(result.install.binary).toBe(layout.binary);
    expect(readFileSync(layout.vocab, 'utf8')).toBe('vocab');
    expect(JSON.parse(readFileSync(layout.manifest, 'utf8'))).toMatchObject({
      version: 'node-llama-cpp-3.21.1',
      cmakeArgs: [...CMAKE_ARGS],
    });
  });

  it('reuses a finished install without running anything', async () => {
    const root = temp();
    await buildLlamaServer({ root, run: fakeTools([]), log: () => undefined, environment: {} });
    const calls: string[][] = [];
    const again = await buildLlamaServer({ root, run: fakeTools(calls), log: () => undefined, environment: {} });
    expect(again.built).toBe(false);
    expect(calls).toEqual([]);
  });

  it('redoes an install whose manifest is missing (an interrupted build)', async () => {
    const root = temp();
    await buildLlamaServer({ root, run: fakeTools([]), log: () => undefined, environment: {} });
    rmSync(llamaCppLayout(root).manifest);
    expect(locateLlamaServer({ SWITCHYARD_ENGINE_CACHE: root })).toBeUndefined();
    const calls: string[][] = [];
    await buildLlamaServer({ root, run: fakeTools(calls), log: () => undefined, environment: {} });
    // The clone is kept: only the build runs again.
    expect(calls.map((call) => call[0])).toEqual(['cmake']);
  });

  it('builds a given checkout, reusing its configured build tree and taking shared libraries along', async () => {
    const root = temp();
    const source = temp();
    writeFileSync(join(source, 'CMakeLists.txt'), '');
    mkdirSync(join(source, 'models'));
    writeFileSync(join(source, 'models', VOCAB_FILE), 'vocab');
    mkdirSync(join(source, 'build'));
    writeFileSync(join(source, 'build', 'CMakeCache.txt'), '');
    const calls: string[][] = [];
    const result = await buildLlamaServer({
      root,
      source,
      run: fakeTools(calls, { sharedLibs: true }),
      log: () => undefined,
      environment: {},
    });
    expect(calls.map((call) => call.slice(0, 2))).toEqual([['cmake', '--build']]);
    expect(existsSync(join(llamaCppLayout(root).libDir, 'libllama.so'))).toBe(true);
    expect(result.install.env['LD_LIBRARY_PATH']).toBe(llamaCppLayout(root).libDir);
  });

  it('fails clearly on a directory that is not a llama.cpp checkout', async () => {
    await expect(
      buildLlamaServer({ root: temp(), source: temp(), run: fakeTools([]), log: () => undefined, environment: {} }),
    ).rejects.toThrow(EngineBuildError);
  });

  it('caches under XDG_CACHE_HOME or HOME unless SWITCHYARD_ENGINE_CACHE says otherwise', () => {
    expect(engineCacheRoot({ SWITCHYARD_ENGINE_CACHE: '/x' })).toBe('/x');
    expect(engineCacheRoot({ XDG_CACHE_HOME: '/c' })).toBe('/c/switchyard/engines');
    expect(engineCacheRoot({ HOME: '/h' })).toBe('/h/.cache/switchyard/engines');
  });
});
