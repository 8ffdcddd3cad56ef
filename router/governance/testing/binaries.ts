// Test helpers for real services: a redis-server on a free loopback port, and checks that required binaries exist,
// failing with the apt package to install (CI installs them; tests never skip silently).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

const PACKAGES: Record<string, string> = {
  'redis-server': 'redis-server',
  promtool: 'prometheus',
  prometheus: 'prometheus',
  chromium: 'chromium',
};

/** Absolute path of a binary, or an Error naming the apt package that provides it. */
export function requireBinary(name: string): string {
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/sbin', '/bin']) {
    const path = `${dir}/${name}`;
    if (existsSync(path)) return path;
  }
  const which = spawnSync('which', [name], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error(
    `${name} is not installed: this test needs the real binary (apt-get install -y --no-install-recommends ${PACKAGES[name] ?? name}).`,
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningRedis {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startRedisServer(): Promise<RunningRedis> {
  const binary = requireBinary('redis-server');
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = await waitForOutput(child, /Ready to accept connections/, 10_000);
    if (!ready) {
      child.kill('SIGKILL');
      continue;
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      close: () => stopChild(child),
    };
  }
  throw new Error('redis-server did not start on a free port after 3 attempts');
}

export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = '';
    const timer = setTimeout(() => finish(false), timeoutMs);
    const onData = (data: Buffer): void => {
      seen += data.toString();
      if (pattern.test(seen)) finish(true);
    };
    const onExit = (): void => finish(false);
    function finish(value: boolean): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      resolve(value);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
