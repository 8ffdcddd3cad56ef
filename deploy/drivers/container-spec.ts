// The Docker Engine create-container body for one vLLM replica: catalog launch args as the command, GPUs through
// DeviceRequests (driver nvidia, the inventory's device ids), host networking, shm for tensor-parallel workers, the
// shared Hugging Face cache, HF_TOKEN from the environment, restart policy and the labels that mark it as ours.
// Pure, so what a GPU box would get is unit-tested here on a machine without GPUs.
import type { ContainerCreateOptions } from 'dockerode';
import type { DockerConfig } from '../config.ts';
import type { ReplicaSpec } from '../contracts.ts';

export const LABELS = {
  managed: 'io.switchyard.managed',
  pool: 'io.switchyard.pool',
  replica: 'io.switchyard.replica',
  model: 'io.switchyard.model',
  port: 'io.switchyard.port',
  gpus: 'io.switchyard.gpus',
  host: 'io.switchyard.host',
  /** Which deployment owns the container: every list, event filter and adoption matches on it. */
  deployment: 'io.switchyard.deployment',
} as const;

/** The deployment id of drivers given none (one deployment per engine). */
export const DEFAULT_DEPLOYMENT_ID = 'default';

/** Where vLLM (huggingface_hub) looks for weights inside the official image. */
export const HF_CACHE_IN_CONTAINER = '/root/.cache/huggingface';

/** Container names are engine-wide, so the deployment id is part of them: two deployments never collide. */
export function containerName(replicaId: string, deploymentId: string = DEFAULT_DEPLOYMENT_ID): string {
  return `switchyard-${deploymentId}-${replicaId}`;
}

/** Where a llama-server container finds the GGUF's host directory (mounted read-only). */
export const MODELS_IN_CONTAINER = '/models';

/** Docker label filters (ANDed by the engine) that match this deployment's containers and nothing else. */
export function deploymentLabelFilter(deploymentId: string): string[] {
  return [`${LABELS.managed}=true`, `${LABELS.deployment}=${deploymentId}`];
}

export function containerSpec(
  spec: ReplicaSpec,
  docker: DockerConfig,
  environment: NodeJS.ProcessEnv,
  deploymentId: string = DEFAULT_DEPLOYMENT_ID,
): ContainerCreateOptions {
  if (spec.engine) return llamaCppContainerSpec(spec, spec.engine, docker, deploymentId);
  const token = environment[docker.hfTokenEnv];
  const env = [
    `HF_HOME=${HF_CACHE_IN_CONTAINER}`,
    // Read by the simulator stand-in only; real vLLM ignores it.
    `SWITCHYARD_SIM_GPU=${spec.gpu}`,
    ...Object.entries(docker.env).map(([key, value]) => `${key}=${value}`),
    ...Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
    ...(token === undefined || token === '' ? [] : [`HF_TOKEN=${token}`]),
  ];
  return {
    name: containerName(spec.replicaId, deploymentId),
    Image: `${docker.image}:${docker.tag}`,
    Cmd: [...spec.launchArgs],
    Env: env,
    Labels: replicaLabels(spec, deploymentId),
    HostConfig: {
      NetworkMode: 'host',
      ShmSize: docker.shmSizeBytes,
      Binds: [`${docker.hfCacheDir}:${HF_CACHE_IN_CONTAINER}`, ...(spec.mounts ?? [])],
      RestartPolicy:
        docker.restartPolicy === 'on-failure'
          ? { Name: 'on-failure', MaximumRetryCount: docker.restartMaxRetries }
          : { Name: docker.restartPolicy },
      ...(docker.requestGpus && spec.gpuIds.length > 0
        ? { DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: [...spec.gpuIds], Capabilities: [['gpu']] }] }
        : {}),
    },
  };
}

/**
 * llama.cpp's server image runs llama-server as its entrypoint, so the command is llama-server's arguments with the
 * model path as seen inside the container. No GPUs are requested for a CPU pool (`gpuLayers` 0); the image tag picks
 * the build (`server` for CPU, `server-cuda` with DeviceRequests for GPU offload).
 */
function llamaCppContainerSpec(
  spec: ReplicaSpec,
  engine: NonNullable<ReplicaSpec['engine']>,
  docker: DockerConfig,
  deploymentId: string,
): ContainerCreateOptions {
  const slash = engine.modelFile.lastIndexOf('/');
  const hostDir = slash > 0 ? engine.modelFile.slice(0, slash) : '.';
  const fileName = engine.modelFile.slice(slash + 1);
  return {
    name: containerName(spec.replicaId, deploymentId),
    Image: engine.image,
    Cmd: engine.argsFor(`${MODELS_IN_CONTAINER}/${fileName}`),
    Env: Object.entries(docker.env).map(([key, value]) => `${key}=${value}`),
    Labels: replicaLabels(spec, deploymentId),
    HostConfig: {
      NetworkMode: 'host',
      Binds: [`${hostDir}:${MODELS_IN_CONTAINER}:ro`],
      RestartPolicy:
        docker.restartPolicy === 'on-failure'
          ? { Name: 'on-failure', MaximumRetryCount: docker.restartMaxRetries }
          : { Name: docker.restartPolicy },
      ...(docker.requestGpus && spec.gpuIds.length > 0
        ? { DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: [...spec.gpuIds], Capabilities: [['gpu']] }] }
        : {}),
    },
  };
}

/** The labels every list, event filter and adoption reads back (the deployment id scopes them to one deployment). */
function replicaLabels(spec: ReplicaSpec, deploymentId: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.deployment]: deploymentId,
    [LABELS.pool]: spec.pool,
    [LABELS.replica]: spec.replicaId,
    [LABELS.model]: spec.model,
    [LABELS.port]: String(spec.port),
    [LABELS.gpus]: spec.gpuIds.join(','),
    [LABELS.host]: spec.host,
  };
}

/** The spec with secrets masked, for logs and `deploy status --verbose`. */
export function redactedSpec(options: ContainerCreateOptions): ContainerCreateOptions {
  return {
    ...options,
    Env: (options.Env ?? []).map((entry) =>
      /^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN|[A-Z_]*(TOKEN|KEY|SECRET))=/.test(entry)
        ? `${entry.split('=')[0]}=***`
        : entry,
    ),
  };
}
