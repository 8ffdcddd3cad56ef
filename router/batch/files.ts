// The on-disk file store: one file per id under <root>/files, written atomically (temp file in the same directory,
// fsync, rename, fsync of the directory) so a crash leaves either the whole file or nothing.
import { Buffer } from 'node:buffer';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
  createReadStream,
  readFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export class FileBlobStore {
  private readonly directory: string;
  private readonly temporary: string;
  private counter = 0;

  constructor(root: string) {
    this.directory = join(root, 'files');
    this.temporary = join(root, 'tmp');
    mkdirSync(this.directory, { recursive: true });
    // Leftovers of writes a crash interrupted are garbage: start with an empty temp directory.
    rmSync(this.temporary, { recursive: true, force: true });
    mkdirSync(this.temporary, { recursive: true });
  }

  path(id: string): string {
    if (!/^[\w-]+$/.test(id)) throw new Error(`invalid file id ${id}`);
    return join(this.directory, id);
  }

  /** Writes the chunks as file `id`, atomically. */
  write(id: string, chunks: Iterable<Uint8Array | string>): number {
    const temporaryPath = join(this.temporary, `${id}.${process.pid}.${this.counter++}`);
    const descriptor = openSync(temporaryPath, 'w');
    let bytes = 0;
    try {
      for (const chunk of chunks)
        bytes += writeSync(descriptor, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporaryPath, this.path(id));
    const directory = openSync(this.directory, 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
    return bytes;
  }

  read(id: string): Buffer {
    return readFileSync(this.path(id));
  }

  stream(id: string): Readable {
    return createReadStream(this.path(id));
  }

  remove(id: string): void {
    rmSync(this.path(id), { force: true });
  }
}
