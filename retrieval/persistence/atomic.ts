// Durable, atomic file replacement: write a temporary file in the same directory, fsync it, rename it over the target,
// fsync the directory. A reader sees the old file or the new one, never a torn one, even after a power cut.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

export function temporaryPathFor(path: string): string {
  counter += 1;
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${counter}`);
}

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncDirectory(directory: string): void {
  // Directories can be opened read-only and fsynced on Linux; elsewhere this may fail harmlessly.
  try {
    fsyncPath(directory);
  } catch {
    // not supported on this platform
  }
}

/** Lets `write` produce the file at a temporary path, then makes it durable and renames it into place. */
export function commitFile(path: string, write: (temporaryPath: string) => void): void {
  const temporary = temporaryPathFor(path);
  try {
    write(temporary);
    fsyncPath(temporary);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  fsyncDirectory(dirname(path));
}

export function writeFileAtomic(path: string, data: string | Buffer): void {
  commitFile(path, (temporary) => writeFileSync(temporary, data));
}
