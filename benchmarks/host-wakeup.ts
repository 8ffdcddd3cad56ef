// The host's floor for an extra hop on a time-to-first-token path: a one-byte TCP echo between two node processes
// on loopback, timed back to back and after an idle gap as long as a decode step. After the gap both processes sleep
// in epoll, so each direction pays a wake-up; on a VM that wake-up (an interrupt delivered to an idle vCPU) can cost
// more than the hop's own work, and no proxy or router can be faster than the echo. router-overhead.ts prints it
// beside the TTFT verdicts. Runs on its own: `node dist/benchmarks/host-wakeup.js`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface WakeupResult {
  /** p50 round trip in µs, pings sent one after another. */
  backToBackUs: number;
  /** p50 round trip in µs, each ping after `gapMs` of idleness. */
  afterGapUs: number;
  gapMs: number;
  pings: number;
}

/** The echo server as a separate process (no product code: the floor under any hop). */
const ECHO = `require('node:net').createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); })
  .listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });`;

export async function measureWakeup(gapMs = 20, pings = 150): Promise<WakeupResult> {
  const child = spawn(process.execPath, ['-e', ECHO], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [portLine] = (await once(child.stdout, 'data')) as [Buffer];
    const socket = connect(Number(portLine.toString().trim()), '127.0.0.1');
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const backToBack = await rounds(socket, pings, 0);
    const afterGap = await rounds(socket, pings, gapMs);
    socket.destroy();
    return { backToBackUs: median(backToBack), afterGapUs: median(afterGap), gapMs, pings };
  } finally {
    child.kill();
  }
}

async function rounds(socket: Socket, count: number, gapMs: number): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count + 10; index++) {
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    const started = process.hrtime.bigint();
    const answered = once(socket, 'data');
    socket.write('x');
    await answered;
    // The first ten warm the path up.
    if (index >= 10) samples.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  return samples;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** One line for a report. */
export function describeWakeup(result: WakeupResult): string {
  return (
    `host floor: a one-byte TCP echo between two node processes answers in ${result.backToBackUs.toFixed(0)} µs ` +
    `p50 back to back and ${result.afterGapUs.toFixed(0)} µs after ${result.gapMs} ms idle (${result.pings} pings ` +
    'each): each extra hop on a stream paced like a decode pays that wake-up'
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(describeWakeup(await measureWakeup()));
}
