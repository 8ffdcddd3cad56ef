// Starting and stopping a whole router: drivers (simulated backends) → runtime → Express app → HTTP server.
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRouterApp, type AppOptions, type RouterApp } from './app.ts';
import type { RequestPipeline } from './routes/pipeline.ts';
import { governanceReady } from './governance/router-adapter.ts';
import type { RouterConfig } from './config/schema.ts';
import { startDrivers, type StartedDrivers } from './simulated-pools/simulator.ts';
import { createRouterRuntime, type RouterRuntime, type RuntimeDeps } from './runtime/runtime.ts';
import type { Deployment } from '../deploy/manager.ts';
import { startPoolDiscovery, type DiscoveryDeps, type RunningDiscovery } from './discovery/index.ts';
import { ensureDemoKey, type DemoKey } from './governance/keys/demo-key.ts';
import type { Logger } from 'pino';

export interface StartRouterOptions extends AppOptions, RuntimeDeps {
  host?: string;
  port?: number;
  /** Resolver and health check of pool endpoint discovery (tests inject them). */
  discovery?: DiscoveryDeps;
  /** Logger of the config's deploy section (replica starts, drains, autoscaler decisions); default pino at info. */
  deployLogger?: Logger;
}

export interface RunningRouter {
  /** `http://host:port`; the OpenAI base URL is `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  readonly runtime: RouterRuntime;
  readonly drivers: StartedDrivers;
  readonly server: Server;
  /** The replicas this router manages itself (config `deploy`), if any. */
  readonly deployment: Deployment | undefined;
  /** Requests being served right now. */
  readonly inFlight: number;
  /** The declared request pipeline (routes/pipeline.ts) both HTTP paths run. */
  readonly pipeline: RequestPipeline;
  close(): Promise<void>;
  /**
   * Graceful stop: no new connections, in-flight requests get up to `graceMs` to finish (idle keep-alive connections
   * are closed as they free up), then whatever is left is cut and everything is closed as in `close()`.
   */
  shutdown(graceMs: number): Promise<{ finished: number; cut: number }>;
}

/**
 * Starts the configured deploy pools with this router as their registry: replicas register into the router's pools
 * when healthy, drain through it, and the autoscaler reads the router's signals and advises its spill-over.
 * deploy/ is imported only when configured, so a plain router never loads Docker or process drivers.
 */
async function startDeployment(
  config: RouterConfig,
  runtime: RouterRuntime,
  logger?: Logger,
): Promise<Deployment | undefined> {
  if (config.deploy === undefined) return undefined;
  const { createDeployment } = await import('../deploy/manager.ts');
  const deployment = await createDeployment(config.deploy, {
    router: { registry: runtime.pools, signals: runtime.pools, spillOver: runtime.pools },
    ...(logger ? { logger } : {}),
  });
  try {
    for (const controller of deployment.controllers) await controller.adopt();
    await Promise.all(
      deployment.controllers.map((controller) => controller.scaleTo(controller.scaleState().desired, 'router start')),
    );
    deployment.startLoops();
  } catch (error) {
    await deployment.close();
    throw error;
  }
  return deployment;
}

/** The key keyless local requests are billed to (`governance.keys.loopbackKey`), created on first start. */
export function loopbackDemoKey(config: RouterConfig): DemoKey | undefined {
  const keys = config.governance.enabled ? config.governance.keys : undefined;
  return keys?.enabled && keys.loopbackKey !== undefined ? ensureDemoKey(keys.database, keys.loopbackKey) : undefined;
}

export async function startRouter(config: RouterConfig, options: StartRouterOptions = {}): Promise<RunningRouter> {
  // Every start, not only `switchyard serve`'s: without the key, keyless local requests would get 401.
  loopbackDemoKey(config);
  const drivers = await startDrivers(config);
  let runtime: RouterRuntime;
  try {
    runtime = await createRouterRuntime(drivers.config, options);
  } catch (error) {
    await drivers.close();
    throw error;
  }
  let deployment: Deployment | undefined;
  let discovery: RunningDiscovery | undefined;
  try {
    deployment = await startDeployment(drivers.config, runtime, options.deployLogger);
  } catch (error) {
    await runtime.close();
    await drivers.close();
    throw error;
  }
  let app: RouterApp;
  try {
    app = createRouterApp(runtime, options);
    // Governance's embedding model (allowed topics / semantic cache), when configured, must load before serving.
    await governanceReady(runtime);
    // Last before listening: discovered replicas are scraped as they join, so they are routable at once.
    discovery = await startPoolDiscovery(drivers.config, runtime.pools, {
      afterJoin: () => runtime.scraper.scrapeOnce(),
      ...options.discovery,
    });
    // Building the app (request checks compiled, governance's models) can block the event loop past the metrics'
    // freshness window; one scrape round here means the first request sees every backend's current state.
    await runtime.scraper.scrapeOnce();
  } catch (error) {
    await discovery?.close();
    await deployment?.close();
    await runtime.close();
    await drivers.close();
    throw error;
  }
  const inFlight = new InFlight();
  const server = createServer({ ServerResponse: inFlight.responseClass }, app.listener);
  server.on('request', inFlight.onRequest);
  // Longer than typical client/load-balancer idle timeouts, so the router is never the side that races a reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const host = options.host ?? config.server.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.server.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const running: RunningRouter = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    runtime,
    drivers,
    server,
    deployment,
    pipeline: app.pipeline,
    get inFlight() {
      return inFlight.count;
    },
    async shutdown(graceMs: number) {
      const started = inFlight.count;
      inFlight.draining = true;
      server.close();
      const deadline = Date.now() + graceMs;
      while (inFlight.count > 0 && Date.now() < deadline) {
        server.closeIdleConnections();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const cut = inFlight.count;
      await running.close();
      return { finished: Math.max(0, started - cut), cut };
    },
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await discovery.close();
        // Managed replicas keep running (as after `switchyard deploy up --detach`); the next start adopts them.
        await deployment?.close();
        await runtime.close();
        await drivers.close();
      })();
      return closing;
    },
  };
  return running;
}

/**
 * Counts the responses being served; while draining, each one that has not sent its head yet asks its client to close
 * the connection (keep-alive frees up). No collection of the responses is kept: with a Set of them (added and deleted
 * thousands of times a second) each finished request's object graph survived the next scavenge and was promoted
 * (measured at 16 connections: 1.9 MB surviving each scavenge with the Set, 0.7 MB without).
 */
class InFlight {
  count = 0;
  draining = false;
  /** Shared by every response: no closure per request. */
  readonly onRequest = (_request: IncomingMessage, response: ServerResponse): void => {
    this.count++;
    // `on`, not `once`: a response closes once, and once's wrapper is two more objects per request.
    response.on('close', this.onClose);
  };
  private readonly onClose = (): void => {
    this.count--;
  };
  /** node:http's response class with one check before the head is written. */
  readonly responseClass: typeof ServerResponse;

  constructor() {
    const isDraining = (): boolean => this.draining;
    const writeHead = ServerResponse.prototype.writeHead;
    class DrainAwareResponse extends ServerResponse {}
    DrainAwareResponse.prototype.writeHead = function writeHeadWhileDraining(this: ServerResponse, ...args: unknown[]) {
      if (isDraining() && !this.headersSent) this.setHeader('connection', 'close');
      return Reflect.apply(writeHead, this, args) as ServerResponse;
    } as ServerResponse['writeHead'];
    this.responseClass = DrainAwareResponse as typeof ServerResponse;
  }
}
