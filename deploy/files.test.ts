// The files for real deployments, checked with the real tools: docker-compose 1.29 (`config`), promtool
// (`check config|rules`, `test rules`), the router's own config loader, and structure checks on the Grafana dashboards
// and the router Dockerfile. Missing tools FAIL with the apt package to install; they are never skipped.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfigText } from '../router/config/load.ts';
import { VirtualClock } from '../models/sim/clock.ts';
import { Autoscaler } from './autoscaler/loop.ts';
import { AutoscalerPolicy } from './autoscaler/policy.ts';
import { PoolConfig, launchArgsFor, resolvePool } from './config.ts';
import { InMemoryPoolRegistry } from './registry/memory.ts';
import { TelemetryMetrics } from './telemetry/metrics.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEPLOY = fileURLToPath(new URL('./', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** Run a tool; a missing binary fails the test with the package that provides it. */
function tool(binary: string, args: string[], aptPackage: string, cwd = ROOT): string {
  try {
    return execFileSync(binary, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (error) {
    const failure = error as { code?: string; stdout?: string; stderr?: string; message: string };
    if (failure.code === 'ENOENT') {
      throw new Error(
        `${binary} is not installed: apt-get install -y --no-install-recommends ${aptPackage} (CI: .ci/run)`,
      );
    }
    throw new Error(`${binary} ${args.join(' ')} failed:\n${failure.stdout ?? ''}${failure.stderr ?? failure.message}`);
  }
}

const catalogArgs = (model: string, gpu: string): string[] =>
  launchArgsFor(resolvePool(PoolConfig.parse({ name: 'x', model, gpu })), 8000, '0.0.0.0');

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  deploy?: {
    resources?: {
      reservations?: {
        devices?: { driver?: string; device_ids?: string[]; count?: string | number; capabilities: string[] }[];
      };
    };
  };
  depends_on?: Record<string, { condition: string }>;
}

describe('docker-compose.gpu.yml', () => {
  it('validates with docker-compose config and matches the catalog', () => {
    const rendered = tool('docker-compose', ['-f', 'docker-compose.gpu.yml', 'config'], 'docker-compose');
    const compose = parseYaml(rendered) as {
      services: Record<string, ComposeService>;
      volumes: Record<string, unknown>;
    };
    const services = compose.services;
    expect(Object.keys(services).sort()).toEqual([
      'dcgm-exporter',
      'grafana',
      'prometheus',
      'router',
      'vllm-llama-70b',
      'vllm-llama-8b',
    ]);

    const small = services['vllm-llama-8b']!;
    const big = services['vllm-llama-70b']!;
    expect(small.command).toEqual(catalogArgs('llama-3.1-8b', 'a100-80gb'));
    expect(big.command).toEqual(catalogArgs('llama-3.1-70b', 'a100-80gb'));
    const devices = (service: ComposeService): string[] =>
      service.deploy?.resources?.reservations?.devices?.[0]?.device_ids ?? [];
    expect(devices(small)).toHaveLength(1);
    expect(devices(big)).toHaveLength(4);
    expect(new Set([...devices(small), ...devices(big)]).size).toBe(5);
    for (const service of [small, big]) {
      expect(service.deploy?.resources?.reservations?.devices?.[0]).toMatchObject({
        driver: 'nvidia',
        capabilities: ['gpu'],
      });
      expect(service.healthcheck?.test.join(' ')).toMatch(/8000\/health/);
      expect(service.volumes?.some((volume) => volume.startsWith('hf-cache:'))).toBe(true);
      expect(service.image).toMatch(/^vllm\/vllm-openai:/);
    }
    expect(compose.volumes).toHaveProperty('hf-cache');
    expect(services['router']!.depends_on).toMatchObject({ 'vllm-llama-8b': { condition: 'service_healthy' } });
    expect(services['router']!.healthcheck?.test.join(' ')).toMatch(/8080\/health/);
  });

  it('the router config it mounts is valid for the router and routes to both vLLM services', () => {
    const config = parseConfigText(read('deploy/compose/switchyard.yaml'), 'deploy/compose/switchyard.yaml', {});
    const urls = config.pools.flatMap((pool) =>
      pool.kind === 'vllm' ? pool.backends.map((backend) => backend.url) : [],
    );
    expect(urls).toEqual(['http://vllm-llama-8b:8000', 'http://vllm-llama-70b:8000']);
  });
});

describe('Prometheus config and rules', () => {
  const rulesPath = join(DEPLOY, 'prometheus/rules.yml');

  it('passes promtool check config (rule_files pointed at the repo copy) and check rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-prom-'));
    const config = read('deploy/prometheus/prometheus.yml')
      .replace('/etc/prometheus/rules.yml', rulesPath)
      .replace('/etc/prometheus/runbook-rules.yml', join(DEPLOY, 'prometheus/runbook-rules.yml'))
      .replace(
        '/etc/prometheus/switchyard-rules.yml',
        join(DEPLOY, '../router/governance/observability/alerts/switchyard-rules.yml'),
      );
    writeFileSync(join(dir, 'prometheus.yml'), config);
    expect(tool('promtool', ['check', 'config', join(dir, 'prometheus.yml')], 'prometheus')).toMatch(/SUCCESS/);
    expect(tool('promtool', ['check', 'rules', rulesPath], 'prometheus')).toMatch(/SUCCESS: \d+ rules found/);
    // The Kubernetes scrape config (inside a ConfigMap) too. Debian's promtool is built without Kubernetes service
    // discovery, so its kubernetes_sd_configs are checked for shape here and swapped for static targets for promtool
    // (which still checks everything else: relabel regexes, actions, intervals).
    const configMap = parseYaml(read('deploy/k8s/prometheus-scrape.yaml')) as { data: Record<string, string> };
    const k8s = parseYaml(configMap.data['prometheus.yml']!) as {
      rule_files: string[];
      scrape_configs: { job_name: string; kubernetes_sd_configs?: { role: string }[]; static_configs?: unknown[] }[];
    };
    for (const scrape of k8s.scrape_configs) {
      expect(
        scrape.kubernetes_sd_configs?.map((sd) => sd.role),
        scrape.job_name,
      ).toEqual(['pod']);
      delete scrape.kubernetes_sd_configs;
      scrape.static_configs = [{ targets: ['127.0.0.1:9'] }];
    }
    k8s.rule_files = [rulesPath];
    writeFileSync(join(dir, 'k8s.yml'), JSON.stringify(k8s));
    expect(tool('promtool', ['check', 'config', join(dir, 'k8s.yml')], 'prometheus')).toMatch(/SUCCESS/);
  });

  it('recording rules and the saturation alert compute what KEDA and Grafana read (promtool test rules)', () => {
    expect(tool('promtool', ['test', 'rules', 'rules.test.yml'], 'prometheus', join(DEPLOY, 'prometheus'))).toMatch(
      /SUCCESS/,
    );
  });

  it('scrapes every vLLM service with its pool label, the router and the DCGM exporter', () => {
    const config = parseYaml(read('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[];
    };
    const job = (name: string) => config.scrape_configs.find((scrape) => scrape.job_name === name)!;
    expect(job('vllm').static_configs.map((entry) => [entry.targets[0], entry.labels?.['pool']])).toEqual([
      ['vllm-llama-8b:8000', 'llama-8b'],
      ['vllm-llama-70b:8000', 'llama-70b'],
    ]);
    expect(job('switchyard-router').static_configs[0]!.targets).toEqual(['router:8080']);
    expect(job('dcgm-exporter').static_configs[0]!.targets).toEqual(['dcgm-exporter:9400']);
  });
});

interface Panel {
  title: string;
  datasource: { uid: string };
  targets: { expr: string; datasource: { uid: string } }[];
}

describe('Grafana dashboards', () => {
  it('are valid JSON on the provisioned datasource and only query metrics that exist', async () => {
    const datasource = parseYaml(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { uid: string }[];
    };
    const uid = datasource.datasources[0]!.uid;
    const recorded = new Set(
      (parseYaml(read('deploy/prometheus/rules.yml')) as { groups: { rules: { record?: string }[] }[] }).groups.flatMap(
        (group) => group.rules.flatMap((rule) => (rule.record ? [rule.record] : [])),
      ),
    );
    // deploy/'s own metric names, from real instances.
    const registry = new Registry();
    new TelemetryMetrics(registry);
    const clock = new VirtualClock();
    const memory = new InMemoryPoolRegistry({ clock });
    new Autoscaler({
      policy: AutoscalerPolicy.parse({}),
      clock,
      targets: [],
      signals: memory,
      logger: { info: () => undefined, debug: () => undefined, warn: () => undefined },
      registry,
    });
    const deployMetrics = new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
    const routerSource = read('router/observability/metrics.ts') + read('router/chain/metrics.ts');

    const files = readdirSync(join(DEPLOY, 'grafana/dashboards')).filter((name) => name.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const uids = new Set<string>();
    const titles: string[] = [];
    for (const file of files) {
      const dashboard = JSON.parse(read(`deploy/grafana/dashboards/${file}`)) as { uid: string; panels: Panel[] };
      expect(uids.has(dashboard.uid)).toBe(false);
      uids.add(dashboard.uid);
      for (const panel of dashboard.panels) {
        titles.push(panel.title);
        expect(panel.datasource.uid).toBe(uid);
        expect(panel.targets.length).toBeGreaterThan(0);
        for (const target of panel.targets) {
          expect(target.datasource.uid).toBe(uid);
          for (const name of target.expr.match(/\b(switchyard[:_][a-z0-9_:]+|vllm:[a-z_]+|DCGM_FI_[A-Z_]+)/g) ?? []) {
            if (name.startsWith('switchyard:')) expect(recorded, `${file}: ${name}`).toContain(name);
            else if (name.startsWith('switchyard_autoscaler_') || name.startsWith('switchyard_gpu_'))
              expect(deployMetrics, `${file}: ${name}`).toContain(name);
            else if (name.startsWith('switchyard_'))
              expect(routerSource, `${file}: ${name} (router/observability/metrics.ts)`).toContain(
                `'${name.replace(/_(bucket|sum|count)$/, '')}'`,
              );
          }
        }
      }
    }
    // The five views: latency, tokens, cost, queue/KV, GPU utilization.
    for (const topic of [/latency/i, /tokens/i, /\$|cost|spend/i, /waiting|queue/i, /KV/, /GPU utilization/i]) {
      expect(
        titles.some((title) => topic.test(title)),
        String(topic),
      ).toBe(true);
    }
  });
});

describe('router Dockerfile', () => {
  it('is multi-stage, runs as non-root on a small base, and installs production dependencies only', () => {
    const dockerfile = read('deploy/docker/router.Dockerfile');
    const stages = dockerfile.split('\n').filter((line) => /^FROM /.test(line));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.at(-1)).toMatch(/distroless.*nonroot/);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/\nUSER 65532:65532\n/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).not.toMatch(/^ADD https?:/m);
    expect(dockerfile).not.toMatch(/(TOKEN|API_KEY|SECRET)=/);
    expect(read('deploy/docker/router.Dockerfile.dockerignore')).toMatch(/\.env/);
  });
});
