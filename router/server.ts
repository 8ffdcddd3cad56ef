// Starting and stopping a whole router: drivers (simulated backends) → runtime → Express app → HTTP server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRouterApp, type AppOptions, type RouterApp } from './app.ts';
import { governanceReady } from './governance/router-adapter.ts';
import type { RouterConfig } from './config/schema.ts';
import { startDrivers, type StartedDrivers } from './drivers/simulator.ts';
import { createRouterRuntime, type RouterRuntime, type RuntimeDeps } from './runtime/runtime.ts';
import type { Deployment } from '../deploy/manager.ts';
import type { Logger } from 'pino';

export interface StartRouterOptions extends AppOptions, RuntimeDeps {
  host?: string;
  port?: number;
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
  close(): Promise<void>;
}

/**
 * Starts the configured deploy pools with this router as their registry: replicas register into the router's pools
 * when healthy, drain through it, and the autoscaler reads the router's signals and advises its spill-over.
 * deploy/ is imported only when configured, so a plain router never loads Docker or process drivers.
 */
async function startDeployment(config: RouterConfig, runtime: RouterRuntime, logger?: Logger): Promise<Deployment | undefined> {
  if (config.deploy === undefined) return undefined;
  const { createDeployment } = await import('../deploy/manager.ts');
  const deployment = await createDeployment(config.deploy, {
    router: { registry: runtime.pools, signals: runtime.pools, spillOver: runtime.pools },
    ...(logger ? { logger } : {}),
  });
  try {
    for (const controller of deployment.controllers) await controller.adopt();
    await Promise.all(deployment.controllers.map((controller) => controller.scaleTo(controller.scaleState().desired, 'router start')));
    deployment.startLoops();
  } catch (error) {
    await deployment.close();
    throw error;
  }
  return deployment;
}

export async function startRouter(config: RouterConfig, options: StartRouterOptions = {}): Promise<RunningRouter> {
  const drivers = await startDrivers(config);
  let runtime: RouterRuntime;
  try {
    runtime = await createRouterRuntime(drivers.config, options);
  } catch (error) {
    await drivers.close();
    throw error;
  }
  let deployment: Deployment | undefined;
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
  } catch (error) {
    await deployment?.close();
    await runtime.close();
    await drivers.close();
    throw error;
  }
  const server = createServer(app.listener);
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
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    runtime,
    drivers,
    server,
    deployment,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        // Managed replicas keep running (as after `switchyard deploy up --detach`); the next start adopts them.
        await deployment?.close();
        await runtime.close();
        await drivers.close();
      })();
      return closing;
    },
  };
}
