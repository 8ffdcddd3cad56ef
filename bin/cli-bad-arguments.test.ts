// Every subcommand with bad arguments, each run as a user runs it (`node bin/switchyard.js …`, its own process): one
// line on stderr, exit 2, no stack trace, nothing on stdout, and nothing started (no server, no request, no replica).
// Non-numbers, negatives, unknown enum values, missing required arguments, unknown flags and missing files.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, 'switchyard.js');
const work = mkdtempSync(join(tmpdir(), 'switchyard-bad-args-'));
const missing = join(work, 'missing');
const text = join(work, 'notes.txt');
const SUITE = join(import.meta.dirname, '..', 'evals', 'samples', 'cases.jsonl');
/** Nothing listens here: a command that sent a request before checking its arguments would fail differently. */
const DEAD_URL = 'http://127.0.0.1:9';

/** [arguments, what the one line must say]. */
const CASES: ReadonlyArray<readonly [string[], RegExp]> = [
  [['no-such-command'], /unknown command 'no-such-command'/],
  [['catalog', '--bogus'], /unknown option '--bogus'/],
  [['catalog', '--model', 'nope'], /argument 'nope' is invalid\. Allowed choices are llama-3\.1-8b/],
  [['sim', '--replicas', 'abc'], /--replicas: expected a number, got "abc"/],
  [['sim', '--model', 'nope'], /--model: unknown model "nope"/],
  [['sim', '--fault', 'nope'], /--fault: unknown item "nope"/],
  [['sim', '--max-loras', 'abc'], /--max-loras: expected a number/],
  [['sim', '--lora-load-ms', '-5'], /--lora-load-ms: must be >=0/],
  [['sim', '--gpu', 'nope'], /gpu: Invalid option: expected one of "a10g"/],
  [['keys', 'create', '--name', 'x'], /required option '--owner <owner>' not specified/],
  [
    ['keys', 'create', '--name', 'x', '--owner', 'y', '--rpm', '-1', '--db', ':memory:'],
    /--rpm must be a positive integer, got "-1"/,
  ],
  [['keys', 'disable', 'nope', '--db', ':memory:'], /no key with id nope/],
  [['keys', 'spend', '--from', '2026-02-30', '--db', ':memory:'], /--from must be a day as YYYY-MM-DD/],
  [['embeddings', 'derive', '--words', '-1'], /'--words <n>' argument '-1' is invalid\. expected a positive integer/],
  [['ingest'], /missing required argument 'path'/],
  [['ingest', missing, '--no-embedder', '--index-dir', join(work, 'indexes')], /no such file or directory: .*missing/],
  [['ingest', text, '--chunker', 'nope'], /'--chunker <name>' argument 'nope' is invalid/],
  [['query', 'x', '--top-k', 'abc'], /'--top-k <n>' argument 'abc' is invalid\. expected a positive integer/],
  [['query', 'x', '--mode', 'nope'], /Allowed choices are lexical, lexical-prf/],
  [['query', 'x', '--index', missing], /No index at .*missing/],
  [
    ['bench', '--concurrency', 'abc', '--base-url', `${DEAD_URL}/v1`, '--model', 'x'],
    /--concurrency: "abc" must be an integer/,
  ],
  [['breakeven', '--model', 'llama-3.1-8b', '--gpu', 'h100', '--gpus', 'abc'], /--gpus: "abc" must be an integer > 0/],
  [['breakeven', '--model', 'llama-3.1-8b', '--gpu', 'nope'], /unknown GPU "nope"/],
  [['prompts', 'split', 'x', '1=abc'], /expected version=weight with a weight ≥ 0/],
  [['prompts', 'list', '--url', 'notaurl'], /--url: not an http\(s\) URL/],
  [['traffic', 'scale', 'pool', '-1', '--url', DEAD_URL], /argument 'replicas'\. must be a whole number ≥ 0/],
  [['feedback', 'req-1', '7', '--url', DEAD_URL], /argument 'score'\. must be a number from -1 \(bad\) to 1 \(good\)/],
  [['eval', 'run', '--target', 'x'], /required option '--suite <file>' not specified/],
  [
    ['eval', 'run', '--suite', SUITE, '--target', 'x', '--timeout-ms', 'abc'],
    /--timeout-ms: expected a number, got "abc"/,
  ],
  [
    ['eval', 'run', '--suite', SUITE, '--target', 'x', '--gate-on', 'nope'],
    /Allowed choices are pass-rate, score, both/,
  ],
  [['eval', 'run', '--suite', missing, '--target', 'x'], /cannot read suite .*missing/],
  [['eval', 'retrieval', '--qrels', text, '--k', 'abc'], /--k: expected a number, got "abc"/],
  [
    ['eval', 'review', 'sample', '--report', missing, '--out', join(work, 'r.jsonl'), '--share', 'abc'],
    /--share: expected a number/,
  ],
  [['engine', 'build', 'nope'], /unknown engine "nope"/],
  [['deploy', 'up', '--metrics-port', 'abc', '--dry-run'], /'--metrics-port <port>' argument 'abc' is invalid/],
  [['deploy', 'scale', 'pool', '-1'], /replicas must be a whole number ≥ 0, got "-1"/],
  [['serve', '--port', 'abc'], /port: invalid "abc"/],
];

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: work,
      env: { ...process.env, SWITCHYARD_GOVERNANCE_DB: join(work, 'governance.sqlite'), SWITCHYARD_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A command that started something instead of rejecting its arguments would never end by itself.
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const outcomes = new Map<string, Outcome>();

beforeAll(async () => {
  writeFileSync(text, 'a note\n');
  // Two at a time: the machine is shared, and each case is a whole node process.
  const queue = [...CASES];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift())
      outcomes.set(next[0].join(' '), await runCli(next[0]));
  };
  await Promise.all([worker(), worker()]);
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('every subcommand with a bad argument: one line, exit 2', () => {
  it.each(CASES)('switchyard %j', (args, message) => {
    const outcome = outcomes.get(args.join(' '));
    expect(outcome).toBeDefined();
    const lines = (outcome?.stderr ?? '').split('\n').filter((line) => line.trim() !== '');
    expect(lines, outcome?.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(outcome?.stderr).not.toMatch(/\n\s+at /);
    expect(outcome?.stdout).toBe('');
    expect(outcome?.code).toBe(2);
  });
});
