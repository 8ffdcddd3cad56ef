// The Redis connection shared by the limiter and the budget ledger (node-redis), and a Lua runner that sends each
// script once (SCRIPT LOAD) and then calls it by SHA, reloading it if Redis lost its script cache.
import type { createClient } from 'redis';

export type RedisConnection = ReturnType<typeof createClient>;

/** A connection or a pending one: a router starts synchronously and its first Redis call waits for the connect. */
export type RedisSource = RedisConnection | Promise<RedisConnection>;

export async function connectRedis(url: string): Promise<RedisConnection> {
  // Imported on first connect: node-redis and its modules cost ~15 MB and ~0.2 s of start-up to a router without Redis.
  const { createClient } = await import('redis');
  const client = createClient({
    url,
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries) => Math.min(retries * 100, 2_000) },
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export class LuaScript {
  private sha: string | undefined;
  constructor(private readonly source: string) {}

  async run(client: RedisConnection, keys: string[], args: Array<string | number>): Promise<unknown> {
    const options = { keys, arguments: args.map(String) };
    this.sha ??= await client.scriptLoad(this.source);
    try {
      return await client.evalSha(this.sha, options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      this.sha = await client.scriptLoad(this.source);
      return client.evalSha(this.sha, options);
    }
  }
}
