// The CLI as a new user meets it, through bin/switchyard.js in its own process: a bad argument is one line on stderr
// and exit 2, never a stack trace; required options say so in --help; tables have no index column or quotes.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCliError } from './cli-errors.ts';

const CLI = join(import.meta.dirname, 'switchyard.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 110_000 });
// Each case starts the CLI through tsx: seconds on a quiet machine, much longer on a loaded one.
const SPAWN_TIMEOUT_MS = 120_000;

describe('switchyard CLI errors and output', () => {
  it.each([
    [['catalog', '--model', 'nope'], /argument 'nope' is invalid\. Allowed choices are llama-3\.1-8b/],
    [['keys', 'create', '--name', 'x'], /required option '--owner <owner>' not specified/],
    [['keys', 'create', '--name', 'x', '--owner', 'y', '--rpm', '-1', '--db', ':memory:'], /--rpm must be a positive integer, got "-1"/],
    [['sim', '--gpu', 'nope'], /gpu: Invalid option: expected one of "a10g"/],
    [['serve', '--port', '99999'], /port: invalid "99999"/],
    [['no-such-command'], /unknown command 'no-such-command'/],
  ])('%j: one line, exit 2', (args, message) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).toBe('');
  }, SPAWN_TIMEOUT_MS);

  it('marks required options in --help', () => {
    const help = run('keys', 'create', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--name <name>\s+what the key is for \(required\)/);
    expect(help.stdout).toMatch(/--owner <owner>\s+person or service owning the key \(required\)/);
    expect(help.stdout).not.toMatch(/--team <team>[^\n]*\(required\)/);
  }, SPAWN_TIMEOUT_MS);

  it('prints the catalog as aligned tables for people', () => {
    const catalog = run('catalog', '--model', 'llama-3.1-8b');
    expect(catalog.status).toBe(0);
    expect(catalog.stdout).not.toMatch(/\(index\)|'/);
    expect(catalog.stdout).toMatch(/^GPU\s+dtype\s+GPUs \(TP\)\s+KV tokens\s+fits$/m);
    expect(catalog.stdout).toMatch(/^a100-80gb\s+bf16\s+1\s+415,430\s+yes$/m);
  }, SPAWN_TIMEOUT_MS);

  it('classifies errors: the caller\'s mistakes exit 2, failures exit 1, always one line', () => {
    expect(describeCliError(Object.assign(new Error('model "x" is unknown'), { status: 404 }))).toEqual({ message: 'model "x" is unknown', usage: true });
    expect(describeCliError(new Error('connect ECONNREFUSED\n  details'))).toEqual({ message: 'connect ECONNREFUSED; details', usage: false });
  });
});
