// The preflight of `npm test`, run as npm runs it, with a PATH that holds only node: it must name every missing tool
// and the one command that provides them, and fail; with the machine's PATH it passes when the tools are there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, 'test-preflight.ts');
const TSX = join(import.meta.dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');
const bareBin = mkdtempSync(join(tmpdir(), 'switchyard-preflight-'));
symlinkSync(process.execPath, join(bareBin, 'node'));
afterAll(() => rmSync(bareBin, { recursive: true, force: true }));

describe('npm test preflight', () => {
  it('names each missing tool with its Debian package and the one command, and exits 1', () => {
    const run = spawnSync(process.execPath, [TSX, SCRIPT], {
      env: { ...process.env, PATH: bareBin },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^npm test needs system tools that are missing here:$/);
    const expected: [tool: string, apt: string][] = [
      ['chromium', 'chromium'],
      ['docker (client)', 'docker.io'],
      ['docker-compose', 'docker-compose'],
      ['promtool', 'prometheus'],
      ['redis-server', 'redis-server'],
    ];
    for (const [tool, apt] of expected) {
      expect(lines.some((line) => line.includes(tool) && line.includes(`(Debian package ${apt})`))).toBe(true);
    }
    expect(run.stderr).toContain('  npm run test:all\n');
  }, 60_000);

  it('passes quietly where the tools are installed and Docker Engine runs (as on CI after test:deps)', () => {
    const run = spawnSync(process.execPath, [TSX, SCRIPT], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);
});
