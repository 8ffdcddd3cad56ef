import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SwitchyardError } from '../errors.ts';
import {
  assertHnswlibBuildRunsHere,
  type BuildMarker,
  BuildKind,
  currentCpuFlags,
  describeHnswlibBuild,
  hnswlibReleaseDir,
  loadHnswlibAddon,
  MARKER_FILE,
  PORTABLE_BACKUP_FILE,
} from './hnswlib-build.ts';

let releaseDir: string;
const addonBytes = Buffer.from('not really an addon, only hashed');

function writeMarker(overrides: Partial<BuildMarker> = {}): void {
  const marker: BuildMarker = {
    format: 'switchyard-hnswlib-build',
    version: 1,
    cxxflags: '-O3 -march=native',
    builtAt: '2026-11-27T10:00:00.000Z',
    cpuModel: 'Test CPU',
    cpuFlags: ['sse4_2', 'avx2', 'avx512f'],
    compiler: 'g++ 12',
    hnswlibNode: '3.0.0',
    sha256: createHash('sha256').update(addonBytes).digest('hex'),
    ...overrides,
  };
  writeFileSync(join(releaseDir, MARKER_FILE), JSON.stringify(marker));
}

beforeEach(() => {
  releaseDir = mkdtempSync(join(tmpdir(), 'switchyard-hnswlib-build-'));
  writeFileSync(join(releaseDir, 'addon.node'), addonBytes);
});
afterEach(() => rmSync(releaseDir, { recursive: true, force: true }));

describe('describeHnswlibBuild', () => {
  it('reports npm’s portable build when no marker exists', () => {
    const build = describeHnswlibBuild({ releaseDir, cpuFlags: ['sse4_2'] });
    expect(build.kind).toBe(BuildKind.Portable);
    expect(build.portableAddonPath).toBeNull();
    expect(build.description).toMatch(/^portable/);
  });

  it('reports a native build with its flags and the portable backup when the marker matches the addon', () => {
    writeMarker();
    writeFileSync(join(releaseDir, PORTABLE_BACKUP_FILE), 'portable');
    const build = describeHnswlibBuild({ releaseDir, cpuFlags: ['sse4_2', 'avx2', 'avx512f', 'avx512bw'] });
    expect(build.kind).toBe(BuildKind.Native);
    expect(build.description).toContain('-O3 -march=native');
    expect(build.missingCpuFlags).toEqual([]);
    expect(build.portableAddonPath).toBe(join(releaseDir, PORTABLE_BACKUP_FILE));
  });

  it('warns, and refuses before any native call, when this CPU lacks features the build machine had', () => {
    writeMarker();
    const build = describeHnswlibBuild({ releaseDir, cpuFlags: ['sse4_2', 'avx2'] });
    expect(build.kind).toBe(BuildKind.Native);
    expect(build.missingCpuFlags).toEqual(['avx512f']);
    expect(build.description).toContain('WARNING this CPU lacks avx512f');
    let thrown: unknown;
    try {
      assertHnswlibBuildRunsHere(build);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SwitchyardError);
    expect((thrown as SwitchyardError).code).toBe('native_build_mismatch');
    expect((thrown as SwitchyardError).message).toContain('build-simd.sh --restore');
    expect(() =>
      assertHnswlibBuildRunsHere(describeHnswlibBuild({ releaseDir, cpuFlags: ['sse4_2', 'avx2', 'avx512f'] })),
    ).not.toThrow();
    expect(() => assertHnswlibBuildRunsHere(describeHnswlibBuild({ releaseDir, cpuFlags: null }))).not.toThrow();
  });

  it('does not vouch for an addon the marker does not describe (e.g. rebuilt since)', () => {
    writeMarker({ sha256: 'a'.repeat(64) });
    expect(describeHnswlibBuild({ releaseDir, cpuFlags: null }).kind).toBe(BuildKind.Unknown);
  });

  it('treats a broken marker as unknown instead of throwing', () => {
    writeFileSync(join(releaseDir, MARKER_FILE), '{"format":"switchyard-hnswlib-build"');
    const build = describeHnswlibBuild({ releaseDir, cpuFlags: null });
    expect(build.kind).toBe(BuildKind.Unknown);
    expect(build.description).toContain(MARKER_FILE);
  });
});

describe('the installed hnswlib-node addon', () => {
  it('is found, described and loadable directly', () => {
    const build = describeHnswlibBuild();
    expect(existsSync(build.addonPath)).toBe(true);
    expect(build.addonPath.startsWith(hnswlibReleaseDir())).toBe(true);
    const { HierarchicalNSW } = loadHnswlibAddon(build.addonPath);
    const index = new HierarchicalNSW('ip', 4);
    index.initIndex({ maxElements: 4 });
    index.addPoint([1, 0, 0, 0], 7);
    index.addPoint([0, 1, 0, 0], 8);
    expect(index.searchKnn([0.9, 0.1, 0, 0], 1).neighbors).toEqual([7]);
  });

  it('reads CPU flags where /proc/cpuinfo exists, null otherwise', () => {
    expect(currentCpuFlags(join(releaseDir, 'missing'))).toBeNull();
    writeFileSync(join(releaseDir, 'cpuinfo'), 'processor\t: 0\nflags\t\t: fpu sse4_2 avx2\n');
    expect(currentCpuFlags(join(releaseDir, 'cpuinfo'))).toEqual(['fpu', 'sse4_2', 'avx2']);
  });
});
