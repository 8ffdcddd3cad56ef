// Response caches. The key is computed by the chat client (sha256 over model, full request and scope); the file
// cache stores one JSON file per key under `root/ab/abcdef….json`, written atomically (temp file + rename) so a
// crashed run never leaves a torn entry.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ResponseCache } from '../contracts.ts';

export class FileResponseCache implements ResponseCache {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    if (!/^[0-9a-f]{16,}$/.test(key)) throw new Error(`cache keys are hex hashes, got ${JSON.stringify(key)}`);
    return join(this.root, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<unknown> {
    try {
      return JSON.parse(await readFile(this.pathOf(key), 'utf8')) as unknown;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // A corrupt entry is a miss, not a failure: it gets rewritten.
      if (error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // A unique temp name: two units with identical requests may write the same key at the same moment.
    const temporary = `${path}.${randomUUID()}.tmp`;
    await writeFile(temporary, JSON.stringify(value));
    await rename(temporary, path);
  }
}

export class MemoryResponseCache implements ResponseCache {
  readonly entries = new Map<string, unknown>();

  get(key: string): Promise<unknown> {
    return Promise.resolve(this.entries.get(key));
  }

  set(key: string, value: unknown): Promise<void> {
    this.entries.set(key, structuredClone(value));
    return Promise.resolve();
  }
}
