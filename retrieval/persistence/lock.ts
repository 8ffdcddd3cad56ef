// One writer per index directory: a LOCK file holding the writer's pid, created exclusively. A lock whose process is
// gone (for example after SIGKILL) is stale and taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { IndexLockedError } from '../errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Locks held by this process (a second writer in the same process is refused too). */
const heldHere = new Set<string>();

export interface WriteLock {
  release(): void;
}

export function acquireWriteLock(directory: string): WriteLock {
  const path = join(directory, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldHere.add(path);
      return {
        release: () => {
          heldHere.delete(path);
          rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      const ours = holder === process.pid;
      if (Number.isInteger(holder) && ((ours && heldHere.has(path)) || (!ours && alive(holder)))) {
        throw new IndexLockedError(`Index ${directory} is being written by process ${holder}.`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new IndexLockedError(`Index ${directory}: could not acquire the write lock.`);
}
