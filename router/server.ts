// Starting and stopping a whole router: drivers (simulated backends) → runtime → Express app → HTTP server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRouterApp, type AppOptions } from './app.ts';
import type { RouterConfig } from './config/schema.ts';
import { startDrivers, type StartedDrivers } from './drivers/simulator.ts';
import { createRouterRuntime, type RouterRuntime, type RuntimeDeps } from './runtime/runtime.ts';

export interface StartRouterOptions extends AppOptions, RuntimeDeps {
  host?: string;
  port?: number;
}

export interface RunningRouter {
  /** `http://host:port`; the OpenAI base URL is `${url}/v1`. */
  readonly url: string;
  readonly port: number;
  readonly runtime: RouterRuntime;
  readonly drivers: StartedDrivers;
  readonly server: Server;
  close(): Promise<void>;
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
  const app = createRouterApp(runtime, options);
  const server = createServer(app);
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
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await runtime.close();
        await drivers.close();
      })();
      return closing;
    },
  };
}
