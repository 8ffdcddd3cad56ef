// `switchyard serve`: the router with a YAML config or the embedded default (simulated pools + fake hosted tier).
import type { Command } from 'commander';
import { embeddedDefaultConfig } from './config/default.ts';
import { ConfigError, loadConfigFile, validateConfig } from './config/load.ts';
import type { RouterConfig } from './config/schema.ts';
import { loopbackDemoKey, startRouter, type RunningRouter } from './server.ts';
import type { DemoKey } from './governance/keys/demo-key.ts';

interface ServeOptions {
  config?: string;
  host?: string;
  port?: string;
}

export async function resolveServeConfig(options: ServeOptions, environment = process.env): Promise<RouterConfig> {
  return options.config
    ? await loadConfigFile(options.config, environment)
    : validateConfig(embeddedDefaultConfig(environment), '(embedded default)', environment);
}

function parsePort(text: string, source: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(source, [`port: invalid "${text}"`]);
  return port;
}

function governanceLines(config: RouterConfig, url: string, demoKey: DemoKey | undefined): string[] {
  const { governance } = config;
  if (!governance.enabled) return [];
  const lines = governance.dashboard.enabled ? [`  dashboard: ${url}/dashboard`] : [];
  if (demoKey) {
    lines.push(
      `  API key "${demoKey.record.name}": ${demoKey.key}  (kept in ${demoKey.file})`,
      '    requests from this machine without a key are billed to it; others need a key (`switchyard keys create`);',
      `    spend: npx switchyard keys spend --db ${governance.keys.database}; require keys: SWITCHYARD_REQUIRE_KEYS=1`,
    );
  } else if (governance.keys.enabled) {
    lines.push(
      `  API keys required: npx switchyard keys create --name NAME --owner OWNER --db ${governance.keys.database}`,
    );
  }
  return lines;
}

export function registerRouterCommands(program: Command): void {
  program
    .command('serve')
    .description('run the OpenAI-compatible router (embedded default: simulated GPU pools + a fake hosted tier)')
    .option('--config <file>', 'switchyard.yaml (default: the embedded simulated setup)')
    .option('--host <host>', 'listen address (default 127.0.0.1)')
    .option('--port <port>', 'listen port (default $PORT or 8080)')
    .action(async (options: ServeOptions) => {
      let config: RouterConfig;
      try {
        config = await resolveServeConfig(options);
      } catch (error) {
        if (error instanceof ConfigError) {
          console.error(error.message);
          process.exitCode = 2;
          return;
        }
        throw error;
      }
      const port = options.port
        ? parsePort(options.port, '--port')
        : process.env['PORT']
          ? parsePort(process.env['PORT'], 'PORT')
          : config.server.port;
      const demoKey = loopbackDemoKey(config);
      // Signals are handled from before the start: a SIGTERM while pools start must not kill the process half-way.
      const shutdown = handleShutdownSignals(config.server.shutdownGraceMs);
      const router = await startRouter(config, { port, ...(options.host ? { host: options.host } : {}) });
      const lines = [`switchyard router listening on ${router.url}`, `  OpenAI base URL: ${router.url}/v1`];
      for (const [pool, replicas] of router.drivers.replicas) {
        for (const replica of replicas) lines.push(`  simulated ${pool}: ${replica.url}`);
      }
      lines.push(
        `  models: ${router.runtime.planner
          .listModelNames()
          .map((entry) => entry.id)
          .join(', ')}`,
        `  health: ${router.url}/health  ready: ${router.url}/ready  metrics: ${router.url}/metrics`,
        ...governanceLines(config, router.url, demoKey),
      );
      console.log(lines.join('\n'));
      shutdown.attach(router);
    });
}

/**
 * SIGTERM / SIGINT: stop accepting, let in-flight requests finish within the grace period, cut the rest, close the
 * pools and exit 0. A second signal exits at once (1); a close that hangs is cut short 5 s after the grace period.
 */
export function handleShutdownSignals(graceMs: number): { attach(router: RunningRouter): void } {
  let router: RunningRouter | undefined;
  let signalled: NodeJS.Signals | undefined;
  const stop = (): void => {
    if (!router || !signalled) return;
    console.log(`switchyard: ${signalled}, draining ${router.inFlight} in-flight request(s) (grace ${graceMs} ms)`);
    setTimeout(() => {
      console.error('switchyard: shutdown did not finish in time; exiting');
      process.exit(1);
    }, graceMs + 5_000).unref();
    router.shutdown(graceMs).then(
      ({ finished, cut }) => {
        console.log(`switchyard: stopped (${finished} finished, ${cut} cut)`);
        process.exit(0);
      },
      (error: unknown) => {
        console.error('switchyard: shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      console.error(`switchyard: second ${signal}; exiting now`);
      process.exit(1);
    }
    signalled = signal;
    stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    attach(started) {
      router = started;
      stop();
    },
  };
}
