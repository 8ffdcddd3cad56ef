// Schema check of the Kubernetes manifests: every document validates against the Kubernetes OpenAPI schemas (and
// KEDA's CRD schema) shipped by `kubernetes-models` / `@kubernetes-models/keda`, has the fields Switchyard relies on
// (zod schemas of those parts), and the cross-references hold — Services select existing pods, the HPA and KEDA
// target existing Deployments, KEDA queries recording rules that exist, vLLM pods run the catalog's command line with
// as many GPUs as their tensor-parallel size, and the router ConfigMap is a valid router config.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseConfigText } from '../../router/config/load.ts';
import { validateAgainstKubernetesSchema } from './kubernetes-schema.ts';
import { PoolConfig, launchArgsFor, resolvePool } from '../config.ts';

const DIR = fileURLToPath(new URL('./', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const Name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .max(63);
const Labels = z.record(z.string(), z.string());
const Metadata = z.object({
  name: Name,
  namespace: z.string().optional(),
  labels: Labels.optional(),
  annotations: Labels.optional(),
});
const Quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti)?$/), z.number()]);
const Resources = z.object({
  requests: z.record(z.string(), Quantity),
  limits: z.record(z.string(), Quantity).optional(),
});
const Probe = z
  .object({
    httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }).optional(),
    tcpSocket: z.object({ port: z.union([z.string(), z.number()]) }).optional(),
  })
  .loose();
const Container = z
  .object({
    name: Name,
    image: z.string().regex(/^[\w./-]+:[\w.-]+$/, 'image with an explicit tag'),
    args: z.array(z.string()).optional(),
    ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number().int() })).optional(),
    resources: Resources,
    readinessProbe: Probe,
    env: z.array(z.object({ name: z.string() }).loose()).optional(),
  })
  .loose();
const Deployment = z.object({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('Deployment'),
  metadata: Metadata,
  spec: z
    .object({
      replicas: z.number().int().min(0).optional(),
      selector: z.object({ matchLabels: Labels }),
      template: z.object({
        metadata: z.object({ labels: Labels }).loose(),
        spec: z.object({ containers: z.array(Container).min(1) }).loose(),
      }),
    })
    .loose(),
});
const Service = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: Metadata,
  spec: z
    .object({
      selector: Labels,
      ports: z
        .array(z.object({ port: z.number().int(), targetPort: z.union([z.string(), z.number()]) }).loose())
        .min(1),
    })
    .loose(),
});
const ScaleTargetRef = z.object({ apiVersion: z.literal('apps/v1'), kind: z.literal('Deployment'), name: Name });
const Hpa = z.object({
  apiVersion: z.literal('autoscaling/v2'),
  kind: z.literal('HorizontalPodAutoscaler'),
  metadata: Metadata,
  spec: z.object({
    scaleTargetRef: ScaleTargetRef,
    minReplicas: z.number().int().min(1),
    maxReplicas: z.number().int().min(1),
    metrics: z
      .array(
        z.object({
          type: z.literal('Resource'),
          resource: z.object({
            name: z.literal('cpu'),
            target: z.object({ type: z.literal('Utilization'), averageUtilization: z.number().int() }),
          }),
        }),
      )
      .min(1),
  }),
});
const ScaledObject = z.object({
  apiVersion: z.literal('keda.sh/v1alpha1'),
  kind: z.literal('ScaledObject'),
  metadata: Metadata,
  spec: z
    .object({
      scaleTargetRef: ScaleTargetRef,
      minReplicaCount: z.number().int().min(0),
      maxReplicaCount: z.number().int().min(1),
      cooldownPeriod: z.number().int().optional(),
      triggers: z
        .array(
          z.object({
            type: z.literal('prometheus'),
            // KEDA takes metadata values as strings.
            metadata: z.object({
              serverAddress: z.url(),
              query: z.string().min(1),
              threshold: z.string().regex(/^\d+(\.\d+)?$/),
              activationThreshold: z.string().optional(),
            }),
          }),
        )
        .min(1),
    })
    .loose(),
});
const ConfigMap = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata: Metadata,
  data: z.record(z.string(), z.string()),
});
const Pvc = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('PersistentVolumeClaim'),
  metadata: Metadata,
  spec: z.object({
    accessModes: z.array(z.string()).min(1),
    resources: z.object({ requests: z.object({ storage: Quantity }) }),
  }),
});
const Job = z.object({
  apiVersion: z.literal('batch/v1'),
  kind: z.literal('Job'),
  metadata: Metadata,
  spec: z
    .object({
      parallelism: z.literal(1),
      template: z.object({
        metadata: z.object({ labels: Labels }).loose(),
        spec: z.object({ containers: z.array(Container.omit({ readinessProbe: true })).length(1) }).loose(),
      }),
    })
    .loose(),
});
const Namespace = z.object({ apiVersion: z.literal('v1'), kind: z.literal('Namespace'), metadata: Metadata });

const SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  Deployment,
  Service,
  HorizontalPodAutoscaler: Hpa,
  ScaledObject,
  ConfigMap,
  PersistentVolumeClaim: Pvc,
  Namespace,
  Job,
};

type Deployment = z.infer<typeof Deployment>;

interface Document {
  file: string;
  kind: string;
  value: Record<string, unknown>;
}

function loadManifests(): Document[] {
  const kustomization = parseYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
      const value = document.toJS() as Record<string, unknown>;
      return { file, kind: String(value['kind']), value };
    }),
  );
}

describe('Kubernetes manifests (schema check)', () => {
  const documents = loadManifests();
  const of = <T>(kind: string): T[] =>
    documents.filter((document) => document.kind === kind).map((document) => document.value as T);

  it('every document validates against the real Kubernetes (and KEDA CRD) schema of its apiVersion and kind', () => {
    for (const document of documents) {
      expect(validateAgainstKubernetesSchema(document.value), `${document.file} ${document.kind}`).toEqual([]);
    }
    // The Secret kustomize generates from governance.env (kept out of git), built as kustomize would.
    const kustomization = parseYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as {
      secretGenerator: { name: string; envs: string[] }[];
    };
    const generator = kustomization.secretGenerator.find((entry) => entry.name === 'switchyard-governance')!;
    const example = readFileSync(join(DIR, `${generator.envs[0]!}.example`), 'utf8');
    const data = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('#'))
        .map((line) => [
          line.slice(0, line.indexOf('=')),
          Buffer.from(line.slice(line.indexOf('=') + 1)).toString('base64'),
        ]),
    );
    expect(Object.keys(data).sort()).toEqual(['admin-token', 'key-pepper']);
    expect(
      validateAgainstKubernetesSchema({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: generator.name, namespace: 'switchyard' },
        type: 'Opaque',
        data,
      }),
    ).toEqual([]);
  });

  it('the schema check catches what a hand-written field check would miss', () => {
    const broken = documents.find((document) => document.kind === 'Deployment')!.value as {
      spec: { template: { spec: { containers: { ports: { containerPort: unknown }[]; resources: unknown }[] } } };
    };
    const copy = structuredClone(broken);
    copy.spec.template.spec.containers[0]!.ports[0]!.containerPort = 'http';
    expect(validateAgainstKubernetesSchema(copy).join('\n')).toMatch(/containerPort must be integer/);
    const scaled = structuredClone(
      documents.find((document) => document.kind === 'ScaledObject')!.value as {
        spec: { triggers: { metadata: Record<string, unknown> }[] };
      },
    );
    scaled.spec.triggers[0]!.metadata['threshold'] = 0.75;
    expect(validateAgainstKubernetesSchema(scaled).join('\n')).toMatch(/threshold must be string/);
    expect(validateAgainstKubernetesSchema({ apiVersion: 'example.com/v1', kind: 'Widget' })).toEqual([
      'no schema for example.com/v1 Widget',
    ]);
  });

  it('every document listed in kustomization.yaml parses and matches the schema of its kind', () => {
    expect(documents.length).toBeGreaterThanOrEqual(12);
    for (const document of documents) {
      const schema = SCHEMAS[document.kind];
      expect(schema, `${document.file}: unexpected kind ${document.kind}`).toBeDefined();
      const result = schema!.safeParse(document.value);
      expect(
        result.success,
        `${document.file} ${document.kind}: ${result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      ).toBe(true);
    }
  });

  it('Services select the pods of a Deployment; the HPA and the ScaledObjects target existing Deployments', () => {
    const deployments = of<Deployment>('Deployment');
    const podLabels = deployments.map((deployment) => deployment.spec.template.metadata.labels);
    for (const deployment of deployments) {
      for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels)) {
        expect(deployment.spec.template.metadata.labels[key], `${deployment.metadata.name} selector`).toBe(value);
      }
    }
    for (const service of of<z.infer<typeof Service>>('Service')) {
      const matches = podLabels.filter((labels) =>
        Object.entries(service.spec.selector).every(([key, value]) => labels[key] === value),
      );
      expect(matches.length, `Service ${service.metadata.name}`).toBe(1);
    }
    const names = new Set(deployments.map((deployment) => deployment.metadata.name));
    const [hpa] = of<z.infer<typeof Hpa>>('HorizontalPodAutoscaler');
    expect(hpa?.spec.scaleTargetRef.name).toBe('switchyard-router');
    const scaled = of<z.infer<typeof ScaledObject>>('ScaledObject');
    expect(scaled.map((object) => object.spec.scaleTargetRef.name).sort()).toEqual(['vllm-llama-70b', 'vllm-llama-8b']);
    for (const object of scaled) expect(names.has(object.spec.scaleTargetRef.name)).toBe(true);
  });

  it('KEDA scales on recording rules that exist, per pool, with the band midpoint as target', () => {
    const rules = parseYaml(readFileSync(join(ROOT, 'deploy/prometheus/rules.yml'), 'utf8')) as {
      groups: { rules: { record?: string }[] }[];
    };
    const recorded = new Set(
      rules.groups.flatMap((group) => group.rules.flatMap((rule) => (rule.record ? [rule.record] : []))),
    );
    const deployments = new Map(
      of<Deployment>('Deployment').map((deployment) => [deployment.metadata.name, deployment]),
    );
    for (const object of of<z.infer<typeof ScaledObject>>('ScaledObject')) {
      const trigger = object.spec.triggers[0]!;
      const names = trigger.metadata.query.match(/switchyard:[a-z0-9_:]+/g) ?? [];
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(recorded).toContain(name);
      const pool = deployments.get(object.spec.scaleTargetRef.name)!.metadata.labels?.['switchyard.io/pool'];
      expect(trigger.metadata.query).toContain(`pool="${pool}"`);
      expect(Number(trigger.metadata.threshold)).toBe(0.75);
    }
  });

  it('vLLM pods run the catalog command line with one GPU per tensor-parallel rank, and the router config is valid', () => {
    const deployments = of<Deployment>('Deployment');
    const cases = [
      ['vllm-llama-8b', 'llama-3.1-8b', 1],
      ['vllm-llama-70b', 'llama-3.1-70b', 4],
    ] as const;
    for (const [name, model, gpus] of cases) {
      const container = deployments.find((deployment) => deployment.metadata.name === name)!.spec.template.spec
        .containers[0]!;
      const pool = resolvePool(PoolConfig.parse({ name: 'x', model, gpu: 'a100-80gb' }));
      expect(pool.tensorParallel).toBe(gpus);
      expect(container.args).toEqual(launchArgsFor(pool, 8000, '0.0.0.0'));
      expect(Number(container.resources.requests['nvidia.com/gpu'])).toBe(gpus);
      expect(Number(container.resources.limits?.['nvidia.com/gpu'])).toBe(gpus);
    }
    const router = deployments.find((deployment) => deployment.metadata.name === 'switchyard-router')!;
    expect(router.spec.template.spec.containers[0]!.env?.map((entry) => entry.name)).toEqual(
      expect.arrayContaining(['REDIS_URL', 'SWITCHYARD_ADMIN_TOKEN', 'SWITCHYARD_KEY_PEPPER']),
    );
    const configMap = of<z.infer<typeof ConfigMap>>('ConfigMap').find(
      (map) => map.metadata.name === 'switchyard-router-config',
    )!;
    const environment = { REDIS_URL: 'redis://switchyard-redis:6379', SWITCHYARD_ADMIN_TOKEN: 'a'.repeat(64) };
    const config = parseConfigText(configMap.data['switchyard.yaml']!, 'router ConfigMap', environment);
    expect(config.pools.map((pool) => pool.name)).toEqual(['llama-8b', 'llama-70b', 'openai']);
    // Governance on, with keys, limits and budgets in the Redis of REDIS_URL, the admin token from the Secret.
    expect(config.governance).toMatchObject({
      enabled: true,
      keys: { enabled: true, adminToken: 'a'.repeat(64) },
      limits: { backend: 'redis', redisUrl: 'redis://switchyard-redis:6379' },
    });
    expect(() =>
      parseConfigText(configMap.data['switchyard.yaml']!, 'router ConfigMap', {
        ...environment,
        SWITCHYARD_ADMIN_TOKEN: '',
      }),
    ).toThrow(/adminToken/);
    // Every vLLM pool discovers its pods through its headless Service's SRV records; affinity is a consistent hash.
    const services = new Map(of<z.infer<typeof Service>>('Service').map((service) => [service.metadata.name, service]));
    for (const pool of config.pools) {
      if (pool.kind !== 'vllm') continue;
      expect(pool.backends).toEqual([]);
      const name = pool.discovery?.dns.name ?? '';
      const [, portName, serviceName] =
        /^_([a-z0-9-]+)\._tcp\.([a-z0-9-]+)\.switchyard\.svc\.cluster\.local$/.exec(name) ?? [];
      const service = services.get(serviceName ?? '') as
        (z.infer<typeof Service> & { spec: { clusterIP?: string; ports: { name?: string }[] } }) | undefined;
      expect(service?.spec.clusterIP, `${pool.name}: ${name} must name a headless Service`).toBe('None');
      expect(service?.spec.ports.map((port) => port['name'])).toContain(portName);
      expect(pool.discovery?.dns.record).toBe('SRV');
    }
    expect(config.scheduling.scorers.map((scorer) => scorer.type)).toContain('consistent-hash-affinity');
  });

  it('one ingest Job writes the index volume; every router replica mounts it read-only and serves it', () => {
    interface PodSpec {
      containers: { args?: string[]; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }[];
      volumes?: {
        name: string;
        persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
        emptyDir?: object;
      }[];
    }
    const mountOf = (spec: PodSpec, claim: string): { mountPath: string; readOnly: boolean } | undefined => {
      const volume = spec.volumes?.find((entry) => entry.persistentVolumeClaim?.claimName === claim);
      const mount = spec.containers[0]!.volumeMounts?.find((entry) => entry.name === volume?.name);
      if (volume === undefined || mount === undefined) return undefined;
      return {
        mountPath: mount.mountPath,
        readOnly: mount.readOnly === true || volume.persistentVolumeClaim?.readOnly === true,
      };
    };
    const claim = of<z.infer<typeof Pvc>>('PersistentVolumeClaim').find(
      (entry) => entry.metadata.name === 'switchyard-index',
    );
    expect(claim?.spec.accessModes).toEqual(['ReadWriteMany']);
    const writers = of<{ spec: { parallelism: number; template: { spec: PodSpec } } }>('Job');
    expect(writers).toHaveLength(1);
    const job = writers[0]!.spec;
    expect(job.parallelism).toBe(1);
    const written = mountOf(job.template.spec, 'switchyard-index');
    expect(written).toEqual({ mountPath: '/var/lib/switchyard-index', readOnly: false });
    const args = job.template.spec.containers[0]!.args ?? [];
    expect(args[0]).toBe('ingest');
    expect(args[args.indexOf('--index-dir') + 1]).toBe(written?.mountPath);
    const router = of<Deployment & { spec: { template: { spec: PodSpec } } }>('Deployment').find(
      (deployment) => deployment.metadata.name === 'switchyard-router',
    )!;
    const read = mountOf(router.spec.template.spec, 'switchyard-index');
    expect(read).toEqual({ mountPath: written?.mountPath, readOnly: true });
    // No other workload mounts the index volume: the Job is its one writer.
    for (const deployment of of<Deployment & { spec: { template: { spec: PodSpec } } }>('Deployment')) {
      if (deployment !== router)
        expect(mountOf(deployment.spec.template.spec, 'switchyard-index'), deployment.metadata.name).toBeUndefined();
    }
    // The router serves that volume, and its read-only root still has a writable temp directory (hnswlib's scratch).
    const configMap = of<z.infer<typeof ConfigMap>>('ConfigMap').find(
      (map) => map.metadata.name === 'switchyard-router-config',
    )!;
    const config = parseConfigText(configMap.data['switchyard.yaml']!, 'router ConfigMap', {
      REDIS_URL: 'redis://r:6379',
      SWITCHYARD_ADMIN_TOKEN: 'a'.repeat(64),
    });
    expect(config.retrieval).toMatchObject({ enabled: true, indexRoot: read?.mountPath });
    const tmp = router.spec.template.spec.containers[0]!.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
    expect(router.spec.template.spec.volumes?.find((volume) => volume.name === tmp?.name)?.emptyDir).toBeDefined();
  });
});
