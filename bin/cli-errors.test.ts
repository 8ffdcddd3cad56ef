// The CLI as a new user meets it: a bad argument is one line on stderr and exit 2, never a stack trace; required
// options say so in --help; tables have no index column or quotes. Most cases run `main` in this process (what
// bin/switchyard.js calls); one goes through bin/switchyard.js in its own process.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './cli.ts';
import { describeCliError } from './cli-errors.ts';

const CLI = join(import.meta.dirname, 'switchyard.js');

async function runMain(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => stdout.push(String(chunk)) > 0);
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => stderr.push(String(chunk)) > 0);
  const log = vi
    .spyOn(console, 'log')
    .mockImplementation((...parts: unknown[]) => void stdout.push(`${parts.join(' ')}\n`));
  process.exitCode = 0;
  try {
    await main(['node', 'switchyard', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
    log.mockRestore();
    process.exitCode = 0;
  }
}

afterEach(() => {
  process.stdout.removeAllListeners('error');
});

describe('switchyard CLI errors and output', () => {
  it.each([
    [['catalog', '--model', 'nope'], /argument 'nope' is invalid\. Allowed choices are llama-3\.1-8b/],
    [['keys', 'create', '--name', 'x'], /required option '--owner <owner>' not specified/],
    [
      ['keys', 'create', '--name', 'x', '--owner', 'y', '--rpm', '-1', '--db', ':memory:'],
      /--rpm must be a positive integer, got "-1"/,
    ],
    [['sim', '--gpu', 'nope'], /gpu: Invalid option: expected one of "a10g"/],
    [['serve', '--port', '99999'], /port: invalid "99999"/],
    [['no-such-command'], /unknown command 'no-such-command'/],
  ])(
    '%j: one line, exit 2',
    async (args, message) => {
      const result = await runMain(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe('');
    },
    120_000,
  );

  it('through bin/switchyard.js: one line on stderr, exit 2, no stack trace', () => {
    const result = spawnSync(process.execPath, [CLI, 'catalog', '--model', 'nope'], {
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')[0]).toMatch(/^error: option '--model <id>' argument 'nope' is invalid/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('marks required options in --help', async () => {
    const help = await runMain('keys', 'create', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--name <name>\s+what the key is for \(required\)/);
    expect(help.stdout).toMatch(/--owner <owner>\s+person or service owning the key \(required\)/);
    expect(help.stdout).not.toMatch(/--team <team>[^\n]*\(required\)/);
  });

  it('prints the catalog as aligned tables for people', async () => {
    const catalog = await runMain('catalog', '--model', 'llama-3.1-8b');
    expect(catalog.code).toBe(0);
    expect(catalog.stdout).not.toMatch(/\(index\)|'/);
    expect(catalog.stdout).toMatch(/^GPU\s+dtype\s+GPUs \(TP\)\s+KV tokens\s+fits$/m);
    expect(catalog.stdout).toMatch(/^a100-80gb\s+bf16\s+1\s+415,430\s+yes$/m);
  });

  it("classifies errors: the caller's mistakes exit 2, failures exit 1, always one line", () => {
    expect(describeCliError(Object.assign(new Error('model "x" is unknown'), { status: 404 }))).toEqual({
      message: 'model "x" is unknown',
      usage: true,
    });
    expect(describeCliError(new Error('connect ECONNREFUSED\n  details'))).toEqual({
      message: 'connect ECONNREFUSED; details',
      usage: false,
    });
  });
});
