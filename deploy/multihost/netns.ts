// A small cluster of "hosts" on one machine: one network namespace per host, each with one veth into a bridge that
// lives in a switch namespace of its own, addresses from 10.213.0.0/24 assigned inside those namespaces only. Nothing
// is added to the root namespace. Processes run with `ip netns exec`; `destroy()` kills them and deletes every
// namespace (their veths and the bridge go with them).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export const SUBNET_PREFIX = '10.213.0';

export interface Host {
  name: string;
  namespace: string;
  address: string;
}

export interface HostProcess {
  readonly child: ChildProcess;
  /** Writes one line to the process's stdin (processes started with `stdin: true`). */
  send(line: string): void;
  /** Waits for the next stdout line matching `pattern` written after this call. */
  next(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first stdout line matching `pattern`; rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Null when this machine lets us create a namespace (root, CAP_SYS_ADMIN), else the reason. */
export function netnsUnavailableReason(): string | null {
  const probe = `sy18probe${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return null;
  } catch (error) {
    return `ip netns is not permitted here (${((error as { stderr?: Buffer }).stderr?.toString() ?? (error as Error).message).trim()})`;
  }
}

export class NamespaceCluster {
  readonly hosts = new Map<string, Host>();
  private readonly processes: HostProcess[] = [];
  private readonly switchNamespace: string;
  private readonly prefix: string;

  constructor(tag: string) {
    this.prefix = `sy-${tag}-${process.pid}`;
    this.switchNamespace = `${this.prefix}-sw`;
    ip('netns', 'add', this.switchNamespace);
    ip('-n', this.switchNamespace, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.switchNamespace, 'link', 'set', 'br0', 'up');
  }

  /** Adds a host `name` with address 10.213.0.`octet` on its eth0. */
  addHost(name: string, octet: number): Host {
    const namespace = `${this.prefix}-${name}`;
    const address = `${SUBNET_PREFIX}.${octet}`;
    const port = `p${octet}`;
    ip('netns', 'add', namespace);
    ip('-n', namespace, 'link', 'set', 'lo', 'up');
    ip('-n', namespace, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', this.switchNamespace);
    ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', namespace, 'link', 'set', 'eth0', 'up');
    ip('-n', this.switchNamespace, 'link', 'set', port, 'master', 'br0');
    ip('-n', this.switchNamespace, 'link', 'set', port, 'up');
    const host = { name, namespace, address };
    this.hosts.set(name, host);
    return host;
  }

  host(name: string): Host {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name}`);
    return host;
  }

  /** Runs `command args…` inside the host's namespace. */
  run(
    hostName: string,
    command: string,
    args: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: boolean } = {},
  ): HostProcess {
    const host = this.host(hostName);
    const child = spawn('ip', ['netns', 'exec', host.namespace, command, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let text = '';
    let pendingLine = '';
    const lineWaiters = new Set<(line: string) => void>();
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      pendingLine += chunk.toString('utf8');
      const lines = pendingLine.split('\n');
      pendingLine = lines.pop() ?? '';
      for (const line of lines) for (const waiter of lineWaiters) waiter(line);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const nextLine = (pattern: RegExp, timeoutMs: number, existing?: string): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        if (existing !== undefined) {
          resolve(existing);
          return;
        }
        const done = (error?: Error, line?: string): void => {
          clearTimeout(timer);
          lineWaiters.delete(onLine);
          if (error) reject(error);
          else resolve(line!);
        };
        const onLine = (line: string): void => {
          if (pattern.test(line)) done(undefined, line);
        };
        const timer = setTimeout(
          () =>
            done(
              new Error(
                `${hostName}: no line matching ${pattern} within ${timeoutMs} ms; output:\n${text.slice(-2_000)}`,
              ),
            ),
          timeoutMs,
        );
        lineWaiters.add(onLine);
        void exited.then((code) =>
          done(new Error(`${hostName}: exited (${code}) before ${pattern}; output:\n${text.slice(-2_000)}`)),
        );
      });
    const process_: HostProcess = {
      child,
      send: (line) => {
        child.stdin?.write(`${line}\n`);
      },
      next: (pattern, timeoutMs) => nextLine(pattern, timeoutMs),
      output: () => text,
      exited,
      kill: (signal = 'SIGTERM') => {
        child.stdin?.end();
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
      waitFor: (pattern, timeoutMs) =>
        nextLine(
          pattern,
          timeoutMs,
          text.split('\n').find((line) => pattern.test(line)),
        ),
    };
    this.processes.push(process_);
    return process_;
  }

  /** Kills every process (SIGTERM, then SIGKILL after 5 s) and deletes every namespace this cluster created. */
  async destroy(): Promise<void> {
    for (const child of this.processes) child.kill('SIGTERM');
    await Promise.all(
      this.processes.map(async (child) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await child.exited;
        clearTimeout(timer);
      }),
    );
    for (const host of this.hosts.values()) {
      try {
        ip('netns', 'del', host.namespace);
      } catch {
        // Already gone.
      }
    }
    try {
      ip('netns', 'del', this.switchNamespace);
    } catch {
      // Already gone.
    }
  }
}
