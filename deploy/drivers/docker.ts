// The `docker` driver: one container per replica through the Docker Engine API (dockerode). Containers carry
// Switchyard labels, so `list()` finds what an earlier driver of the same deployment started (adoption), and container
// `die` events from the engine's event stream tell the pool controller a replica died (unless the restart policy is
// already restarting it). Every list, event filter and container name includes the deployment id, so two deployments
// on one engine never see, adopt or replace each other's containers.
import Docker from 'dockerode';
import type { DockerConfig } from '../config.ts';
import type { Driver, ReplicaExit, ReplicaInfo, ReplicaPhase, ReplicaSpec, StopOptions } from '../contracts.ts';
import { DriverUnavailableError, ReplicaStartError } from '../errors.ts';
import {
  DEFAULT_DEPLOYMENT_ID,
  LABELS,
  containerName,
  containerSpec,
  deploymentLabelFilter,
} from './container-spec.ts';
import { demuxDockerLogs } from './docker-logs.ts';

export interface DockerDriverOptions {
  config: DockerConfig;
  /** Defaults to a client on `config.socketPath`. */
  docker?: Docker;
  /** Where HF_TOKEN is read from (process.env by default). */
  environment?: NodeJS.ProcessEnv;
  /** The deployment this driver manages; containers of other deployments are invisible to it. */
  deploymentId?: string;
}

function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

function phaseOf(state: string): ReplicaPhase {
  if (state === 'running') return 'running';
  if (state === 'created' || state === 'restarting') return 'starting';
  return 'exited';
}

export class DockerDriver implements Driver {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private readonly config: DockerConfig;
  private readonly environment: NodeJS.ProcessEnv;
  readonly deploymentId: string;
  private readonly listeners = new Set<(exit: ReplicaExit) => void>();
  private readonly stopping = new Set<string>();
  /** Replicas whose death was reported (a container dies once for good; late duplicate events are dropped). */
  private readonly reported = new Set<string>();
  private events: NodeJS.ReadableStream | undefined;
  private eventsStarting: Promise<void> | undefined;
  private closed = false;

  constructor(options: DockerDriverOptions) {
    this.config = options.config;
    this.docker = options.docker ?? new Docker({ socketPath: options.config.socketPath });
    this.environment = options.environment ?? process.env;
    this.deploymentId = options.deploymentId ?? DEFAULT_DEPLOYMENT_ID;
  }

  /** Fails with a clear message when dockerd is not reachable. */
  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw new DriverUnavailableError(
        `Docker Engine not reachable at ${this.config.socketPath} (${(error as Error).message}). Start it with: ` +
          'dockerd --host unix:///var/run/docker.sock --bridge=none --iptables=false --ip6tables=false &',
        error,
      );
    }
  }

  async start(spec: ReplicaSpec): Promise<ReplicaInfo> {
    await this.watchEvents();
    const options = containerSpec(spec, this.config, this.environment, this.deploymentId);
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(options);
    } catch (error) {
      if (statusCode(error) === 404) {
        throw new ReplicaStartError(
          spec.replicaId,
          `image ${options.Image} is not present on this Docker Engine; pull or build it first`,
          error,
        );
      }
      throw new ReplicaStartError(
        spec.replicaId,
        `cannot create container for ${spec.replicaId}: ${(error as Error).message}`,
        error,
      );
    }
    try {
      await container.start();
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      throw new ReplicaStartError(
        spec.replicaId,
        `cannot start container for ${spec.replicaId}: ${(error as Error).message}`,
        error,
      );
    }
    const inspected = await container.inspect();
    return this.info(inspected.Config.Labels, inspected.Id, inspected.State.Status, Date.parse(inspected.Created));
  }

  async stop(replicaId: string, options: StopOptions = {}): Promise<void> {
    const container = this.docker.getContainer(containerName(replicaId, this.deploymentId));
    this.stopping.add(replicaId);
    try {
      const seconds = Math.ceil((options.graceMs ?? 10_000) / 1000);
      try {
        await container.stop({ t: seconds });
      } catch (error) {
        // 304: already stopped; 404: already gone.
        if (statusCode(error) !== 304 && statusCode(error) !== 404) throw error;
      }
      try {
        await container.remove({ force: true });
      } catch (error) {
        if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
      }
    } finally {
      this.stopping.delete(replicaId);
    }
  }

  async list(): Promise<ReplicaInfo[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: deploymentLabelFilter(this.deploymentId) },
    });
    return containers.map((container) =>
      this.info(container.Labels, container.Id, container.State, container.Created * 1000),
    );
  }

  async logs(replicaId: string, tailLines = 50): Promise<string> {
    try {
      const buffer = await this.docker
        .getContainer(containerName(replicaId, this.deploymentId))
        .logs({ stdout: true, stderr: true, tail: tailLines, follow: false });
      const { stdout, stderr } = demuxDockerLogs(buffer);
      return [stdout, stderr].filter((text) => text !== '').join('\n');
    } catch (error) {
      if (statusCode(error) === 404) return '';
      throw error;
    }
  }

  onExit(listener: (exit: ReplicaExit) => void): () => void {
    this.listeners.add(listener);
    void this.watchEvents().catch(() => undefined);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.closed = true;
    const stream = this.events as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    stream?.destroy?.();
    this.events = undefined;
    this.listeners.clear();
    return Promise.resolve();
  }

  private info(labels: Readonly<Record<string, string>>, id: string, state: string, startedAt: number): ReplicaInfo {
    const port = Number(labels[LABELS.port] ?? 0);
    const host = labels[LABELS.host] ?? '127.0.0.1';
    const model = labels[LABELS.model];
    const gpus = labels[LABELS.gpus] ?? '';
    return {
      replicaId: labels[LABELS.replica] ?? id,
      pool: labels[LABELS.pool] ?? '',
      model: model !== undefined && model !== '' ? model : 'llama-3.1-8b',
      gpuIds: gpus === '' ? [] : gpus.split(','),
      port,
      url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
      phase: phaseOf(state),
      ref: id,
      startedAt,
    };
  }

  /** One event stream per driver, opened lazily: container `die` events of Switchyard containers. */
  private watchEvents(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.eventsStarting ??= (async () => {
      const stream = (await this.docker.getEvents({
        filters: { type: ['container'], event: ['die'], label: deploymentLabelFilter(this.deploymentId) },
      })) as NodeJS.ReadableStream;
      if (this.closed) {
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        return;
      }
      this.events = stream;
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') void this.onDie(line);
      });
      stream.on('error', () => undefined);
    })();
    return this.eventsStarting;
  }

  private async onDie(line: string): Promise<void> {
    let event: { id?: string; Actor?: { Attributes?: Record<string, string> } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    const attributes = event.Actor?.Attributes ?? {};
    const replicaId = attributes[LABELS.replica];
    // The engine already filters on the label; checked again so a filter-less stream (older engines) stays scoped.
    if (attributes[LABELS.deployment] !== this.deploymentId) return;
    if (replicaId === undefined || this.stopping.has(replicaId)) return;
    // The engine sets Restarting before it emits `die` when its restart policy will bring the container back.
    try {
      const inspected = await this.docker
        .getContainer(event.id ?? containerName(replicaId, this.deploymentId))
        .inspect();
      if (inspected.State.Restarting || inspected.State.Running) return;
    } catch (error) {
      if (statusCode(error) !== 404) return;
    }
    if (this.stopping.has(replicaId) || this.reported.has(replicaId)) return;
    this.reported.add(replicaId);
    const exitCode = attributes['exitCode'] === undefined ? null : Number(attributes['exitCode']);
    const exit: ReplicaExit = {
      replicaId,
      pool: attributes[LABELS.pool] ?? '',
      exitCode,
      detail: `container die (exit ${exitCode ?? '?'})`,
    };
    for (const listener of this.listeners) listener(exit);
  }
}
