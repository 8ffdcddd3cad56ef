// Which hnswlib-node addon is installed: npm's portable build, or the -march=native one build-simd.sh wrote (it
// leaves a marker with the flags and the addon's sha256 next to it). The benchmark prints this so its numbers say
// which build they came from, and loads the portable backup to compare both builds in the same run.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Hnswlib from 'hnswlib-node';
import { z } from 'zod';
import { ServerSetupError } from '../../core/errors.ts';

const require = createRequire(import.meta.url);

export const BuildMarkerSchema = z.object({
  format: z.literal('switchyard-hnswlib-build'),
  version: z.literal(1),
  cxxflags: z.string(),
  builtAt: z.string(),
  cpuModel: z.string(),
  cpuFlags: z.array(z.string()),
  compiler: z.string(),
  hnswlibNode: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BuildMarker = z.infer<typeof BuildMarkerSchema>;

export const BuildKind = { Portable: 'portable', Native: 'native', Unknown: 'unknown' } as const;
export type BuildKind = (typeof BuildKind)[keyof typeof BuildKind];

export interface HnswlibBuild {
  kind: BuildKind;
  /** One line for logs and benchmark output. */
  description: string;
  addonPath: string;
  /** npm's portable addon kept by build-simd.sh, when a native build is installed. */
  portableAddonPath: string | null;
  marker: BuildMarker | null;
  /** CPU features the build machine had and this one lacks (the native addon may crash here); null if unknown. */
  missingCpuFlags: string[] | null;
}

export const MARKER_FILE = 'switchyard-build.json';
export const PORTABLE_BACKUP_FILE = 'addon.portable.node';

export function hnswlibReleaseDir(): string {
  return join(dirname(require.resolve('hnswlib-node/package.json')), 'build', 'Release');
}

/** The CPU feature flags of this machine (Linux), or null where /proc/cpuinfo cannot be read. */
export function currentCpuFlags(cpuinfoPath = '/proc/cpuinfo'): string[] | null {
  try {
    const line = readFileSync(cpuinfoPath, 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('flags'));
    return line === undefined ? null : (line.split(':')[1] ?? '').trim().split(/\s+/);
  } catch {
    return null;
  }
}

export function describeHnswlibBuild(
  options: { releaseDir?: string; cpuFlags?: readonly string[] | null } = {},
): HnswlibBuild {
  const releaseDir = options.releaseDir ?? hnswlibReleaseDir();
  const cpuFlags = options.cpuFlags === undefined ? currentCpuFlags() : options.cpuFlags;
  const addonPath = join(releaseDir, 'addon.node');
  const backupPath = join(releaseDir, PORTABLE_BACKUP_FILE);
  const portableAddonPath = existsSync(backupPath) ? backupPath : null;
  const markerPath = join(releaseDir, MARKER_FILE);
  const base = { addonPath, portableAddonPath, marker: null, missingCpuFlags: null };
  if (!existsSync(markerPath)) {
    return { ...base, kind: BuildKind.Portable, description: 'portable (npm default build: SSE kernels, no -march)' };
  }
  let marker: BuildMarker;
  try {
    marker = BuildMarkerSchema.parse(JSON.parse(readFileSync(markerPath, 'utf8')));
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ...base, kind: BuildKind.Unknown, description: `unknown (unreadable ${MARKER_FILE}: ${reason})` };
  }
  const sha256 = createHash('sha256').update(readFileSync(addonPath)).digest('hex');
  if (sha256 !== marker.sha256) {
    return {
      ...base,
      kind: BuildKind.Unknown,
      description: `unknown (addon.node is not the one ${MARKER_FILE} describes; rerun retrieval/native/build-simd.sh or npm rebuild hnswlib-node)`,
    };
  }
  const missingCpuFlags = cpuFlags === null ? null : marker.cpuFlags.filter((flag) => !cpuFlags.includes(flag));
  const warning =
    missingCpuFlags !== null && missingCpuFlags.length > 0
      ? `; WARNING this CPU lacks ${missingCpuFlags.join(' ')}`
      : '';
  return {
    ...base,
    marker,
    missingCpuFlags,
    kind: BuildKind.Native,
    description: `native (CXXFLAGS "${marker.cxxflags}", built ${marker.builtAt} on ${marker.cpuModel}${warning})`,
  };
}

/**
 * A native build copied to a CPU without the instruction sets it was compiled for dies with SIGILL at its first
 * search or insert; this turns that into an error that says what to do, before any native call.
 */
export function assertHnswlibBuildRunsHere(build: HnswlibBuild = describeHnswlibBuild()): void {
  if (build.missingCpuFlags === null || build.missingCpuFlags.length === 0) return;
  throw new ServerSetupError(
    `hnswlib-node at ${build.addonPath} was built with CXXFLAGS "${build.marker?.cxxflags ?? '?'}" on a CPU with ` +
      `${build.missingCpuFlags.join(' ')}, which this CPU lacks; run retrieval/native/build-simd.sh here, or ` +
      'retrieval/native/build-simd.sh --restore (or npm rebuild hnswlib-node) for the portable build',
    { code: 'native_build_mismatch' },
  );
}

/** Loads an hnswlib-node addon file directly (e.g. the portable backup), with hnswlib-node's own types. */
export function loadHnswlibAddon(addonPath: string): Pick<typeof Hnswlib, 'HierarchicalNSW'> {
  return require(addonPath) as Pick<typeof Hnswlib, 'HierarchicalNSW'>;
}
