// Real-time benchmarks on a shared host: run the benchmark (and so every process it starts) at a raised CPU priority.
// Linux with autogroup (kernel.sched_autogroup_enabled = 1) shares the CPU between sessions first and applies a
// process's nice value only inside its session, so `nice -n -10` alone does not help against other sessions' load.
// `boostSelf` re-runs the current script once in a session of its own (its own autogroup) with that group and the
// process at nice −10; everything it spawns inherits both. Needs root; otherwise the script runs as it is.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

const MARK = 'SWITCHYARD_BENCH_BOOSTED';
const NICE = -10;

/** Whether this process runs raised (by `boostSelf`, or started at a negative nice value). */
export function boosted(): boolean {
  return process.env[MARK] === '1' || getPriority() < 0;
}

/**
 * Re-runs this script boosted and resolves to true in the parent once the boosted copy has finished (the caller then
 * exits with `process.exitCode`); resolves to false when this process is the boosted copy, boosting is off, or it is
 * not allowed (not root) — then the caller just goes on.
 */
export async function boostSelf(enabled: boolean): Promise<boolean> {
  if (!enabled || process.env[MARK] !== undefined) return false;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: 'inherit',
    env: { ...process.env, [MARK]: '1' },
  });
  try {
    writeFileSync(`/proc/${child.pid}/autogroup`, String(NICE));
    setPriority(child.pid!, NICE);
  } catch {
    // Not root, or no autogroup: stop the copy and run here at normal priority.
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    process.env[MARK] = '0';
    return false;
  }
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) =>
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))),
  );
  process.off('SIGINT', forward).off('SIGTERM', forward);
  process.exitCode = code;
  return true;
}
