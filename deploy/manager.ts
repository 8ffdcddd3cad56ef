// Builds a running deployment from a DeployConfig: driver, GPU inventory, registry, one PoolController per pool,
// telemetry and the autoscaler, plus a small HTTP endpoint for /metrics and /status. The CLI (cli.ts) is a thin shell
// over this; the router will pass its own PoolRegistry (see README) instead of the in-memory one.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { RealClock } from '../models/sim/clock.ts';
import { Autoscaler } from './autoscaler/loop.ts';
import { type DeployConfig, resolvePool } from './config.ts';
import type {
  Clock,
  Driver,
  GpuTelemetrySource,
  PoolRegistry,
  PoolSignalSource,
  SpillOverAdvisor,
  TelemetryReading,
} from './contracts.ts';
import { DockerDriver } from './drivers/docker.ts';
import { LocalDriver } from './drivers/local.ts';
import { NotFoundError, renderError } from '../core/errors.ts';
import { DeployConfigError } from './errors.ts';
import { GpuInventory } from './inventory.ts';
import { PoolController, type PoolStatus } from './pool-controller.ts';
import { InMemoryPoolRegistry } from './registry/memory.ts';
import { VllmMetricsScraper } from './registry/scraper.ts';
import { TelemetryMetrics } from './telemetry/metrics.ts';
import { DcgmExporterSource, NoGpuSource, NvidiaSmiSource } from './telemetry/sources.ts';

export interface RouterHooks {
  registry: PoolRegistry;
  signals: PoolSignalSource;
  spillOver?: SpillOverAdvisor;
}

export interface DeploymentOptions {
  logger?: Logger;
  clock?: Clock;
  /** The router's pool API; default: an in-memory registry (no routing, drains resolve at once). */
  router?: RouterHooks;
  /** Override the driver (tests). */
  driver?: Driver;
  /** llama-server pools: build the engine when it is missing (default true; minutes, once per machine). */
  buildEngine?: boolean;
  /** Directory relative GGUF paths are resolved against (the config file's). */
  baseDir?: string;
}

export interface Deployment {
  config: DeployConfig;
  driver: Driver;
  inventory: GpuInventory;
  controllers: PoolController[];
  autoscaler: Autoscaler;
  metrics: Registry;
  telemetry: GpuTelemetrySource;
  lastTelemetry(): TelemetryReading | undefined;
  status(): DeploymentStatus;
  /** Start the autoscaler (and, without a router, the scraper that feeds it from the replicas' /metrics). */
  startLoops(): void;
  /** Serve /metrics (Prometheus) and /status (JSON) on host:port; resolves with the bound port. */
  serve(port: number, host?: string): Promise<number>;
  /** Stop loops and servers; replicas keep running unless `down` was called. */
  close(): Promise<void>;
  down(): Promise<void>;
}

export interface DeploymentStatus {
  driver: string;
  gpus: {
    total: number;
    free: string[];
    grants: { owner: string; gpuIds: readonly string[] }[];
    waiting: { owner: string; count: number }[];
  };
  telemetry: { source: string; available: boolean; detail: string } | null;
  pools: PoolStatus[];
  autoscaler: {
    enabled: boolean;
    dryRun: boolean;
    lastDecisions: { pool: string; action: string; from: number; to: number; reason: string; at: number }[];
  };
}

function telemetrySource(config: DeployConfig): GpuTelemetrySource {
  switch (config.telemetry.source) {
    case 'nvidia-smi':
      return new NvidiaSmiSource();
    case 'dcgm':
      return new DcgmExporterSource({ url: config.telemetry.dcgmUrl });
    default:
      return new NoGpuSource();
  }
}

/** GPU ids: explicit list, N virtual ids (simulator pools), or what nvidia-smi reports. */
export async function resolveGpuIds(config: DeployConfig): Promise<string[]> {
  if (Array.isArray(config.gpus)) return config.gpus;
  if (typeof config.gpus === 'number') return Array.from({ length: config.gpus }, (_, index) => String(index));
  const reading = await new NvidiaSmiSource().read();
  if (!reading.available) {
    throw new DeployConfigError(
      `gpus: auto found no GPU (${reading.detail}); set gpus to a number of virtual GPUs for simulator pools`,
      'gpus',
    );
  }
  return reading.samples.map((sample) => sample.index);
}

/** The configured deployment id, or one derived from the resolved state directory (stable across commands). */
export function deploymentIdOf(config: DeployConfig): string {
  if (config.deploymentId !== undefined) return config.deploymentId;
  return `d-${createHash('sha256').update(resolve(config.stateDir)).digest('hex').slice(0, 12)}`;
}

async function createDriver(config: DeployConfig): Promise<Driver> {
  if (config.driver === 'docker') {
    const driver = new DockerDriver({ config: config.docker, deploymentId: deploymentIdOf(config) });
    await driver.ping();
    return driver;
  }
  const stateDir = resolve(config.stateDir);
  // The compiled build runs the stand-in's JavaScript directly; from the sources a bundle starts far faster than tsx.
  if (!import.meta.url.endsWith('.ts'))
    return new LocalDriver({ stateDir: join(stateDir, 'replicas'), simSpeed: config.simSpeed });
  // Loaded on demand: only the local driver run from the sources needs esbuild (a devDependency).
  const { bundleStandinOnce } = await import('./image/bundle.ts');
  const bundle = await bundleStandinOnce(join(stateDir, 'bin'));
  return new LocalDriver({ stateDir: join(stateDir, 'replicas'), simSpeed: config.simSpeed, bundleFile: bundle.file });
}

export async function createDeployment(config: DeployConfig, options: DeploymentOptions = {}): Promise<Deployment> {
  const logger = options.logger ?? pino({ level: 'info' });
  const clock = options.clock ?? new RealClock();
  const driver = options.driver ?? (await createDriver(config));
  const inventory = new GpuInventory(await resolveGpuIds(config));
  const memory = new InMemoryPoolRegistry({ clock });
  const router: RouterHooks = options.router ?? { registry: memory, signals: memory, spillOver: memory };
  const metrics = new Registry();
  const telemetry = telemetrySource(config);
  const telemetryMetrics = new TelemetryMetrics(metrics);
  let lastReading: TelemetryReading | undefined;
  const readTelemetry: GpuTelemetrySource = {
    read: async () => {
      lastReading = await telemetry.read();
      telemetryMetrics.update(lastReading);
      return lastReading;
    },
  };
  const resolved = config.pools.map((pool, index) => resolvePool(pool, `pools[${index}]`));
  for (const pool of resolved) {
    if (pool.engine !== 'llamacpp') continue;
    // Loaded on demand: only llama-server pools need the engine cache and the GGUF writer.
    const { prepareLlamaCppPool } = await import('./engines/llamacpp/prepare.ts');
    await prepareLlamaCppPool(pool, {
      build: options.buildEngine ?? true,
      ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
      log: (line) => logger.info({ pool: pool.name }, line),
    });
  }
  const controllers = resolved.map(
    (pool) =>
      new PoolController({
        pool,
        driver,
        inventory,
        registry: router.registry,
        host: config.host,
        logger,
      }),
  );
  const autoscaler = new Autoscaler({
    policy: config.autoscaler,
    clock,
    targets: controllers,
    signals: router.signals,
    telemetry: readTelemetry,
    ...(router.spillOver ? { spillOver: router.spillOver } : {}),
    logger,
    registry: metrics,
  });
  const servers: Server[] = [];
  // Without the router, scrape the replicas ourselves so the autoscaler sees KV usage and queues.
  const scraper = options.router
    ? undefined
    : new VllmMetricsScraper({ registry: memory, clock, intervalMs: Math.min(2_000, config.autoscaler.intervalMs) });

  const status = (): DeploymentStatus => ({
    driver: driver.kind,
    gpus: { total: inventory.total, free: inventory.free, grants: inventory.grants(), waiting: inventory.waiting },
    telemetry: lastReading
      ? { source: lastReading.source, available: lastReading.available, detail: lastReading.detail }
      : null,
    pools: controllers.map((controller) => controller.status()),
    autoscaler: {
      enabled: config.autoscaler.enabled,
      dryRun: config.autoscaler.dryRun,
      lastDecisions: autoscaler
        .decisions()
        .filter((decision) => decision.action !== 'hold')
        .slice(-20)
        .map(({ pool, action, from, to, reason, at }) => ({ pool, action, from, to, reason, at })),
    },
  });

  return {
    config,
    driver,
    inventory,
    controllers,
    autoscaler,
    metrics,
    telemetry: readTelemetry,
    lastTelemetry: () => lastReading,
    status,
    startLoops: () => {
      scraper?.start();
      autoscaler.start();
    },
    serve: (port, host = '127.0.0.1') =>
      new Promise<number>((resolvePort, reject) => {
        const server = createServer((request, response) => {
          if (request.url === '/metrics') {
            void metrics.metrics().then((text) => {
              response.writeHead(200, { 'content-type': metrics.contentType });
              response.end(text);
            });
          } else if (request.url === '/status') {
            response.writeHead(200, { 'content-type': 'application/json' });
            response.end(JSON.stringify(status()));
          } else {
            const rendered = renderError(new NotFoundError(`no route ${request.url ?? ''}`, { code: 'not_found' }));
            response.writeHead(rendered.status, { 'content-type': 'application/json', ...rendered.headers });
            response.end(JSON.stringify(rendered.body));
          }
        });
        server.once('error', reject);
        server.listen(port, host, () => {
          servers.push(server);
          const address = server.address();
          resolvePort(typeof address === 'object' && address !== null ? address.port : port);
        });
      }),
    close: async () => {
      scraper?.stop();
      autoscaler.stop();
      await autoscaler.settle();
      for (const controller of controllers) await controller.close();
      await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
      await driver.close();
    },
    down: async () => {
      autoscaler.stop();
      await autoscaler.settle();
      await Promise.all(controllers.map((controller) => controller.down()));
    },
  };
}
