import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../canonical.ts';
import type { ResponseCache } from '../contracts.ts';
import { FileResponseCache, MemoryResponseCache } from './cache.ts';
import { OpenAIChatClient } from './openai-client.ts';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'switchyard-cache-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe.each<[string, () => ResponseCache]>([
  ['file', () => new FileResponseCache(directory)],
  ['memory', () => new MemoryResponseCache()],
])('ResponseCache contract: %s', (_name, make) => {
  it('misses, then returns what was stored, independent of later mutation', async () => {
    const cache = make();
    const key = sha256('k');
    expect(await cache.get(key)).toBeUndefined();
    const value = { text: 'hello', usage: { promptTokens: 1, completionTokens: 2 } };
    await cache.set(key, value);
    value.text = 'changed';
    expect(await cache.get(key)).toEqual({ text: 'hello', usage: { promptTokens: 1, completionTokens: 2 } });
  });

  it('survives concurrent writes of the same key', async () => {
    const cache = make();
    const key = sha256('same');
    await Promise.all(Array.from({ length: 8 }, (_unused, index) => cache.set(key, { text: String(index) })));
    expect(await cache.get(key)).toMatchObject({ text: expect.stringMatching(/^[0-7]$/) });
  });
});

describe('FileResponseCache', () => {
  it('treats a corrupt entry as a miss and leaves no temp files behind', async () => {
    const cache = new FileResponseCache(directory);
    const key = sha256('corrupt');
    await cache.set(key, { text: 'x' });
    await writeFile(join(directory, key.slice(0, 2), `${key}.json`), '{"text": "x');
    expect(await cache.get(key)).toBeUndefined();
    expect((await readdir(join(directory, key.slice(0, 2)))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await expect(cache.get('../../etc/passwd')).rejects.toThrow(/cache keys are hex hashes/);
  });
});

describe('cache keys', () => {
  it('change with the model, the request, the scope and the base URL; not with key order', () => {
    const client = (baseURL: string) => new OpenAIChatClient({ baseURL, cache: null });
    const a = client('http://a/v1');
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], temperature: 0 };
    const key = a.cacheKey(request, { repeat: 0 });
    expect(a.cacheKey({ temperature: 0, messages: request.messages, model: 'm' }, { repeat: 0 })).toBe(key);
    expect(a.cacheKey({ ...request, model: 'n' }, { repeat: 0 })).not.toBe(key);
    expect(a.cacheKey({ ...request, temperature: 1 }, { repeat: 0 })).not.toBe(key);
    expect(a.cacheKey(request, { repeat: 1 })).not.toBe(key);
    expect(client('http://b/v1').cacheKey(request, { repeat: 0 })).not.toBe(key);
  });
});
