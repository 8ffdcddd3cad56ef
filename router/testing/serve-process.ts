// `switchyard serve` as a real child process (`node bin/switchyard.js serve`, no npm in between), on a free port:
// for tests whose client and server must not share an event loop (socket timing, signals, process exit).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:port` */
  url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code and signal once the process exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (test clean-up). */
  kill(): Promise<void>;
}

export async function startServeProcess(
  args: readonly string[] = [],
  options: { env?: NodeJS.ProcessEnv; startTimeoutMs?: number } = {},
): Promise<ServeProcess> {
  // The embedded default's retrieval indexes: an empty folder of the test's own, removed when the process is gone.
  const indexDir = mkdtempSync(join(tmpdir(), 'serve-process-'));
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, SWITCHYARD_INDEX_DIR: indexDir, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The first 64 KiB (start-up lines) and the last 64 KiB (shutdown lines): the request log may print far more.
  let head = '';
  let tail = '';
  const keep = (piece: Buffer): void => {
    const value = piece.toString();
    if (head.length < 65_536) head += value;
    else tail = (tail + value).slice(-65_536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const text = (): string => head + tail;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      rmSync(indexDir, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchyard serve did not start:\n${text()}`));
    }, options.startTimeoutMs ?? 90_000);
    const check = (): void => {
      const match = /listening on (http:\/\/\S+)/.exec(text());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`switchyard serve exited (${code ?? signal}) before listening:\n${text()}`));
    });
  });
  return {
    child,
    url,
    output: text,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
