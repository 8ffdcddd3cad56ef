// `switchyard deploy up|status|scale|down`: operator commands over manager.ts. Replicas outlive the command (like
// containers): `up` adopts what is running, `down` removes it. Config: a YAML file (-c) or the embedded default
// (local simulator replicas, one Llama 3.1 8B pool on 4 virtual GPUs).
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { type DeployConfig, parseDeployConfig } from './config.ts';
import { DeployConfigError } from './errors.ts';
import { createDeployment, type Deployment, type DeploymentStatus } from './manager.ts';
import { SwitchyardError } from '../core/errors.ts';

export const DEFAULT_DEPLOY_CONFIG = {
  driver: 'local',
  gpus: 4,
  pools: [{ name: 'llama-8b', model: 'llama-3.1-8b', gpu: 'a10g', replicas: 1, minReplicas: 1, maxReplicas: 4 }],
} as const;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Resolves when the process should stop (SIGINT/SIGTERM); injectable for tests. */
  untilSignal(): Promise<string>;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  untilSignal: () =>
    new Promise((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    }),
};

interface CommonOptions {
  config?: string;
  driver?: string;
  dryRun?: boolean;
}

export function loadDeployConfig(options: CommonOptions): DeployConfig {
  let input: Record<string, unknown> = structuredClone(DEFAULT_DEPLOY_CONFIG) as unknown as Record<string, unknown>;
  if (options.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.config, 'utf8');
    } catch (error) {
      throw new DeployConfigError(`cannot read config ${options.config}: ${(error as Error).message}`, 'config');
    }
    const parsed: unknown = parseYaml(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new DeployConfigError(`${options.config}: expected a YAML mapping`);
    input = parsed as Record<string, unknown>;
  }
  if (options.driver !== undefined) input = { ...input, driver: options.driver };
  if (options.dryRun === true)
    input = { ...input, autoscaler: { ...(input['autoscaler'] as object | undefined), dryRun: true } };
  return parseDeployConfig(input);
}

function formatStatus(status: DeploymentStatus): string {
  const lines = [`driver ${status.driver}; GPUs ${status.gpus.total} (free: ${status.gpus.free.join(',') || 'none'})`];
  if (status.telemetry)
    lines.push(
      `telemetry ${status.telemetry.source}: ${status.telemetry.available ? 'up' : 'unavailable'} (${status.telemetry.detail})`,
    );
  for (const pool of status.pools) {
    const failures = pool.startFailures > 0 ? `, start failures ${pool.startFailures} (see the log)` : '';
    lines.push(
      `pool ${pool.pool}: ${pool.model} on ${pool.tensorParallel}× ${pool.gpu}, desired ${pool.desired}, replacements ${pool.replacements}${failures}`,
    );
    for (const replica of pool.replicas) {
      lines.push(
        `  ${replica.replicaId.padEnd(24)} ${replica.state.padEnd(12)} gpus [${replica.gpuIds.join(',')}] ${replica.url ?? ''}${replica.adopted ? ' (adopted)' : ''}`,
      );
    }
  }
  for (const decision of status.autoscaler.lastDecisions) {
    lines.push(`autoscaler ${decision.pool} ${decision.action} ${decision.from}→${decision.to} (${decision.reason})`);
  }
  return lines.join('\n');
}

async function withDeployment<T>(options: CommonOptions, run: (deployment: Deployment) => Promise<T>): Promise<T> {
  const config = loadDeployConfig(options);
  const deployment = await createDeployment(config, { logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    for (const controller of deployment.controllers) await controller.adopt();
    return await run(deployment);
  } finally {
    await deployment.close();
  }
}

function report(io: CliIo, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  io.err(`switchyard deploy: ${message}`);
  process.exitCode = error instanceof SwitchyardError && error.status < 500 ? 2 : 1;
}

/** Checked while the command line is parsed, so a typo fails before any replica starts. */
function portNumber(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65535)
    throw new InvalidArgumentError(`must be a port number 0-65535, got "${value}"`);
  return port;
}

export function registerDeployCommands(program: Command, io: CliIo = processIo): void {
  const deploy = program
    .command('deploy')
    .description('start, watch, scale and stop model-server replicas (local simulator processes or Docker containers)');

  deploy
    .command('up')
    .description('adopt running replicas, start the configured pools, run the autoscaler (foreground unless --detach)')
    .option('-c, --config <file>', 'deploy config (YAML); default: local simulator pool')
    .option('--driver <kind>', 'local | docker (overrides the config)')
    .option('--dry-run', 'the autoscaler only reports decisions')
    .option('--no-autoscale', 'do not run the autoscaler')
    .option('--detach', 'start the pools and exit; replicas keep running')
    .option('--metrics-port <port>', 'serve /metrics and /status on <metrics-host>:<port>', portNumber, 9464)
    .option(
      '--metrics-host <host>',
      'interface for /metrics and /status (the docker bridge address lets compose Prometheus scrape it)',
      '127.0.0.1',
    )
    .action(
      async (
        options: CommonOptions & { autoscale: boolean; detach?: boolean; metricsPort: number; metricsHost: string },
      ) => {
        try {
          const config = loadDeployConfig(options);
          const deployment = await createDeployment(config, { logger: pino({ level: 'info' }, pino.destination(2)) });
          for (const controller of deployment.controllers) {
            const adopted = await controller.adopt();
            if (adopted.length > 0) io.out(`adopted ${adopted.length} running replica(s) of ${controller.name}`);
          }
          const started = Date.now();
          await Promise.all(
            deployment.controllers.map((controller) =>
              controller.scaleTo(controller.scaleState().desired, 'deploy up'),
            ),
          );
          io.out(formatStatus(deployment.status()));
          io.out(`pools ready in ${Date.now() - started} ms`);
          if (options.detach === true) {
            await deployment.close();
            return;
          }
          const port = await deployment.serve(options.metricsPort, options.metricsHost);
          io.out(
            `metrics on http://${options.metricsHost}:${port}/metrics, status on http://${options.metricsHost}:${port}/status`,
          );
          if (options.autoscale) deployment.startLoops();
          const signal = await io.untilSignal();
          io.out(`${signal}: stopping the manager; replicas keep running (\`switchyard deploy down\` removes them)`);
          await deployment.close();
        } catch (error) {
          report(io, error);
        }
      },
    );

  deploy
    .command('status')
    .description('replicas, GPUs and telemetry as the driver sees them')
    .option('-c, --config <file>', 'deploy config (YAML)')
    .option('--driver <kind>', 'local | docker')
    .option('--json', 'print JSON')
    .action(async (options: CommonOptions & { json?: boolean }) => {
      try {
        await withDeployment(options, async (deployment) => {
          // Adopted replicas get a few seconds to answer /health; a slow one is reported as starting.
          await Promise.race([
            Promise.all(deployment.controllers.map((controller) => controller.settled())),
            new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
          ]);
          await deployment.telemetry.read();
          const status = deployment.status();
          io.out(options.json === true ? JSON.stringify(status, null, 2) : formatStatus(status));
        });
      } catch (error) {
        report(io, error);
      }
    });

  deploy
    .command('scale')
    .description('set the replica count of one pool and wait until it is there (drains removed replicas)')
    .argument('<pool>', 'pool name')
    .argument('<replicas>', 'replica count')
    .option('-c, --config <file>', 'deploy config (YAML)')
    .option('--driver <kind>', 'local | docker')
    .action(async (poolName: string, replicasText: string, options: CommonOptions) => {
      try {
        const replicas = Number(replicasText);
        if (!Number.isInteger(replicas) || replicas < 0)
          throw new DeployConfigError(`replicas must be a whole number ≥ 0, got "${replicasText}"`, 'replicas');
        await withDeployment(options, async (deployment) => {
          const controller = deployment.controllers.find((candidate) => candidate.name === poolName);
          if (!controller) {
            throw new DeployConfigError(
              `unknown pool "${poolName}"; pools: ${deployment.controllers.map((candidate) => candidate.name).join(', ')}`,
              'pool',
            );
          }
          await controller.settled();
          const started = Date.now();
          const status = await controller.scaleTo(replicas, 'operator: deploy scale');
          const failed =
            status.startFailures > 0 ? `; ${status.startFailures} start(s) failed (see the log on stderr)` : '';
          io.out(
            `${poolName}: ${status.replicas.filter((replica) => replica.state === 'ready').length} ready (desired ${status.desired}) in ${Date.now() - started} ms${failed}`,
          );
        });
      } catch (error) {
        report(io, error);
      }
    });

  deploy
    .command('down')
    .description('drain and remove every replica of the configured pools')
    .option('-c, --config <file>', 'deploy config (YAML)')
    .option('--driver <kind>', 'local | docker')
    .action(async (options: CommonOptions) => {
      try {
        await withDeployment(options, async (deployment) => {
          const before = deployment.controllers.reduce(
            (sum, controller) => sum + controller.status().replicas.length,
            0,
          );
          await deployment.down();
          io.out(`removed ${before} replica(s)`);
        });
      } catch (error) {
        report(io, error);
      }
    });
}
