// Test support: find llama-server through the product's own locator (the engine cache `switchyard engine build
// llamacpp` fills) and start replicas through the product's own local driver. In CI (CI=true) a missing engine is a
// failure with the command to run; elsewhere the suites skip with a loud message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolConfig, launchArgsFor, resolvePool, type ResolvedLlamaCppPool } from '../../config.ts';
import { LocalDriver } from '../../drivers/local.ts';
import { freePort, waitHealthy } from '../../health.ts';
import type { ReplicaInfo } from '../../contracts.ts';
import { prepareLlamaCppPool, replicaEngine } from './prepare.ts';
import { locateLlamaServer, missingEngineMessage, type LlamaServerInstall } from './paths.ts';
import type { LlamaCppServerOptions } from './config.ts';
import { TINY_MODEL_SHAPE, generateTinyModel, tinyModelFileName } from './tiny-model.ts';

/** The tiny model without clean-text steering: its random output trips llama-server's chat parser now and then. */
export function rawTinyModelFile(install: LlamaServerInstall): string {
  const shape = { ...TINY_MODEL_SHAPE, cleanText: false };
  return generateTinyModel(install.vocab, join(install.modelsDir, tinyModelFileName(shape)), shape);
}

/** The install, or undefined after a loud warning (outside CI). Throws in CI. */
export function llamaServerForTests(): LlamaServerInstall | undefined {
  const install = locateLlamaServer();
  if (install) return install;
  const message = `${missingEngineMessage()}. The real-engine suites need it.`;
  if (process.env['CI'] === 'true' || process.env['CI'] === '1') throw new Error(message);
  console.warn(`\n!!! SKIPPING llama-server suites: ${message}\n`);
  return undefined;
}

export interface LlamaCppReplicas {
  replicas: ReplicaInfo[];
  urls: string[];
  pool: ResolvedLlamaCppPool;
  driver: LocalDriver;
  /** Stop one replica the way a crash would (SIGKILL, no drain). */
  kill(index: number): void;
  close(): Promise<void>;
}

/** Starts `count` llama-server replicas of the tiny model through the local driver and waits for /health. */
export async function startLlamaCppReplicas(
  count: number,
  options: Partial<Omit<LlamaCppServerOptions, 'model'>> & { model?: string } = {},
): Promise<LlamaCppReplicas> {
  const pool = resolvePool(
    PoolConfig.parse({ name: 'llama-test', llamacpp: { model: 'tiny', ...options } }),
  ) as ResolvedLlamaCppPool;
  await prepareLlamaCppPool(pool, { build: false });
  const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-llamacpp-'));
  const driver = new LocalDriver({ stateDir });
  const replicas: ReplicaInfo[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(replicas.map((replica) => driver.stop(replica.replicaId, { graceMs: 2_000 })));
    await driver.close();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    for (let index = 0; index < count; index++) {
      const port = await freePort();
      const replicaId = `llama-test-${process.pid}-${index}-${port}`;
      const info = await driver.start({
        replicaId,
        pool: pool.name,
        model: pool.model,
        gpu: 'cpu',
        dtype: 'bf16',
        tensorParallel: 0,
        gpuIds: [],
        host: '127.0.0.1',
        port,
        launchArgs: launchArgsFor(pool, port, '127.0.0.1'),
        engine: replicaEngine(pool, port, '127.0.0.1'),
      });
      replicas.push(info);
    }
    for (const replica of replicas) {
      const outcome = await waitHealthy(replica.url, { timeoutMs: 60_000 });
      if (outcome !== 'healthy')
        throw new Error(
          `llama-server ${replica.url} not healthy (${outcome}):\n${await driver.logs(replica.replicaId, 30)}`,
        );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    replicas,
    urls: replicas.map((replica) => replica.url),
    pool,
    driver,
    kill: (index) => {
      const pid = Number(replicas[index]!.ref);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        process.kill(pid, 'SIGKILL');
      }
    },
    close,
  };
}
