// Graceful shutdown of the real processes (`node bin/switchyard.js serve` / `sim`, no npm in between), signalled
// under load: in-flight requests finish within the grace period (or are cut when it runs out), new connections are
// refused, simulator child processes go with their parent, and the exit code is 0.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startServeProcess, type ServeProcess } from './testing/serve-process.ts';

const started: ServeProcess[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'shutdown-test-'));
afterAll(async () => {
  await Promise.all(started.map((serve) => serve.kill()));
  rmSync(scratch, { recursive: true, force: true });
});

interface Outcome {
  status: number;
  text: string;
  /** The connection failed or was cut before the response ended. */
  error?: string;
}

function post(url: string, body: unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    const request = httpRequest(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    request.on('response', (response) => {
      let text = '';
      response.on('data', (piece: Buffer) => (text += piece.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', (error) => resolve({ status: response.statusCode ?? 0, text, error: error.message }));
      response.on('aborted', () => resolve({ status: response.statusCode ?? 0, text, error: 'aborted' }));
    });
    request.on('error', (error) => resolve({ status: 0, text: '', error: error.message }));
    request.end(JSON.stringify(body));
  });
}

/** Child processes of `pid` (all, or those whose command line matches `pattern`). */
function childrenOf(pid: number, pattern?: string): number[] {
  const args = ['-P', String(pid), ...(pattern ? ['-f', pattern] : [])];
  const listed = spawnSync('pgrep', args, { encoding: 'utf8' }).stdout.trim();
  return listed === '' ? [] : listed.split('\n').map(Number);
}

const REPLICA_PROCESS = 'models/sim/child.ts';

async function inFlightRequests(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('switchyard_backend_in_flight_requests{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

const ask = (stream: boolean, maxTokens: number) => ({
  model: 'small',
  stream,
  max_tokens: maxTokens,
  messages: [{ role: 'user', content: 'Tell me a long story about trains.' }],
});

describe('switchyard serve on SIGTERM / SIGINT', () => {
  it('SIGTERM under load: in-flight JSON and streams finish, new connections are refused, exit 0', async () => {
    const serve = await startServeProcess();
    started.push(serve);
    // The embedded default at real time: 8B on A10G answers 16 tokens far inside the 10 s default grace, even on a
    // loaded machine.
    const inFlight = [
      ...Array.from({ length: 8 }, () => post(serve.url, ask(false, 16))),
      ...Array.from({ length: 4 }, () => post(serve.url, ask(true, 16))),
    ];
    // Every request is being served (a connection not yet accepted when the signal lands is refused, as it should be).
    expect(await waitFor(async () => (await inFlightRequests(serve.url)) >= 12, 30_000)).toBe(true);
    const signalledAt = Date.now();
    serve.child.kill('SIGTERM');
    await waitFor(() => serve.output().includes('draining'), 5_000);
    const late = await post(serve.url, ask(false, 4));
    const outcomes = await Promise.all(inFlight);
    const exit = await serve.exited;

    expect(late.error).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);
    for (const outcome of outcomes.slice(0, 8)) {
      expect(outcome.error).toBeUndefined();
      expect(outcome.status).toBe(200);
      expect((JSON.parse(outcome.text) as { object: string }).object).toBe('chat.completion');
    }
    for (const outcome of outcomes.slice(8)) {
      expect(outcome.status).toBe(200);
      expect(outcome.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    }
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    expect(serve.output()).toMatch(/stopped \(\d+ finished, 0 cut\)/);
  }, 120_000);

  it('SIGINT with a short grace: long answers are cut, simulator child processes go too, exit 0', async () => {
    const config = join(scratch, 'grace.yaml');
    writeFileSync(
      config,
      [
        'server: { shutdownGraceMs: 400 }',
        'pools:',
        '  - { name: gpu, kind: vllm, model: llama-3.1-8b, gpu: a10g,',
        '      driver: { type: simulator, replicas: 2, options: { isolation: process } } }',
        'models:',
        '  - { name: llama-3.1-8b, aliases: [small], route: [gpu] }',
        '',
      ].join('\n'),
    );
    const serve = await startServeProcess(['--config', config]);
    started.push(serve);
    expect(childrenOf(serve.child.pid!, REPLICA_PROCESS).length).toBe(2);
    const children = childrenOf(serve.child.pid!);
    // 4000 tokens at real time take minutes: far past the grace period.
    const inFlight = [post(serve.url, ask(true, 4_000)), post(serve.url, ask(false, 4_000))];
    expect(await waitFor(async () => (await inFlightRequests(serve.url)) >= 2, 30_000)).toBe(true);
    const signalledAt = Date.now();
    serve.child.kill('SIGINT');
    const exit = await serve.exited;
    const elapsed = Date.now() - signalledAt;
    const [stream, json] = await Promise.all(inFlight);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(elapsed).toBeLessThan(8_000);
    expect(serve.output()).toMatch(/stopped \(0 finished, 2 cut\)/);
    expect(stream!.text.includes('data: [DONE]') && stream!.error === undefined).toBe(false);
    expect(json!.status === 200 && json!.error === undefined).toBe(false);
    expect(await waitFor(() => children.every((pid) => !alive(pid)), 8_000)).toBe(true);
  }, 120_000);
});

describe('switchyard sim on SIGTERM', () => {
  const bin = fileURLToPath(new URL('../bin/switchyard.js', import.meta.url));

  it.each([
    ['while its replica processes start', false],
    ['while serving a stream', true],
  ])(
    '%s: the command and every replica process exit',
    async (_name, waitUntilReady) => {
      const sim = spawn(process.execPath, [bin, 'sim', '--processes', '--replicas', '2', '--port', '0'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      sim.stdout.on('data', (piece: Buffer) => (output += piece.toString()));
      sim.stderr.on('data', (piece: Buffer) => (output += piece.toString()));
      const exited = new Promise<number | null>((resolve) => sim.once('exit', (code) => resolve(code)));
      try {
        let stream: Promise<Outcome> | undefined;
        // A stream in flight must not hold the replica (or the command) open.
        if (waitUntilReady) {
          expect(await waitFor(() => output.includes('Ctrl-C to stop'), 90_000)).toBe(true);
          const url = /(http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(output)![1]!;
          stream = post(url, {
            model: 'llama-3.1-8b',
            stream: true,
            max_tokens: 4_000,
            messages: [{ role: 'user', content: 'hi' }],
          });
          await new Promise((resolve) => setTimeout(resolve, 500));
        } else {
          // Replica processes exist but have not reported ready yet.
          expect(await waitFor(() => childrenOf(sim.pid!, REPLICA_PROCESS).length > 0, 60_000)).toBe(true);
        }
        const replicas = childrenOf(sim.pid!);
        sim.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(await waitFor(() => replicas.every((pid) => !alive(pid)), 10_000)).toBe(true);
        if (stream) await stream;
      } finally {
        for (const pid of childrenOf(sim.pid!)) process.kill(pid, 'SIGKILL');
        if (sim.exitCode === null) sim.kill('SIGKILL');
      }
    },
    120_000,
  );
});
