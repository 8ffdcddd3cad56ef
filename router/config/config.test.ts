// Config loading: YAML + ${ENV} interpolation + zod validation, with errors that name the offending path.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedDefaultConfig } from './default.ts';
import { getGpu } from '../../models/catalog/gpus.ts';
import { getModel } from '../../models/catalog/models.ts';
import { createStepTimeModel } from '../../models/step-time.ts';
import { ConfigError, loadConfigFile, parseConfigText, validateConfig } from './load.ts';

const MINIMAL = `
pools:
  - name: gpu
    kind: vllm
    model: llama-3.1-8b
    gpu: h100
    backends:
      - url: \${VLLM_URL}
  - name: openai
    kind: openai
    baseURL: \${OPENAI_BASE_URL:-https://api.openai.com/v1}
    apiKey: \${OPENAI_API_KEY}
    modelMap: { llama-3.1-8b: gpt-4o-mini }
models:
  - name: llama-3.1-8b
    aliases: [small]
    route: [gpu, openai]
    sloTtftMs: 1500
    timeouts: { totalMs: 60000 }
server:
  port: \${PORT}
`;

function issuesOf(action: () => unknown): readonly string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('parses YAML, interpolates the environment and applies defaults', () => {
    const config = parseConfigText(MINIMAL, 'test.yaml', {
      VLLM_URL: 'http://10.0.0.5:8000',
      OPENAI_API_KEY: 'sk-test',
      PORT: '9090',
    });
    const [gpu, openai] = config.pools;
    expect(gpu?.kind === 'vllm' && gpu.backends[0]?.url).toBe('http://10.0.0.5:8000');
    expect(openai?.kind === 'openai' && openai.baseURL).toBe('https://api.openai.com/v1');
    expect(openai?.kind === 'openai' && openai.apiKey).toBe('sk-test');
    expect(config.server.port).toBe(9090);
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.timeouts.totalMs).toBe(600_000);
    expect(config.models[0]?.timeouts).toEqual({ totalMs: 60_000 });
    expect(config.retries.maxAttempts).toBeGreaterThan(1);
    expect(config.scheduling.scorers.length).toBeGreaterThan(0);
  });

  it('names missing environment variables by path', () => {
    const issues = issuesOf(() => parseConfigText(MINIMAL, 'test.yaml', { PORT: '1' }));
    expect(issues).toContain(
      'pools[0].backends[0].url: environment variable VLLM_URL is not set (use ${VLLM_URL:-default})',
    );
    expect(issues.some((issue) => issue.startsWith('pools[1].apiKey: environment variable OPENAI_API_KEY'))).toBe(true);
  });

  it('names schema errors by path', () => {
    const text = MINIMAL.replace('gpu: h100', 'gpu: h900').replace('route: [gpu, openai]', 'route: [gpu, nowhere]');
    const issues = issuesOf(() =>
      parseConfigText(text, 'test.yaml', { VLLM_URL: 'not a url', OPENAI_API_KEY: 'k', PORT: '1' }),
    );
    expect(issues.some((issue) => issue.startsWith('pools[0].gpu:'))).toBe(true);
    expect(issues.some((issue) => issue.startsWith('pools[0].backends[0].url:'))).toBe(true);
  });

  it('checks cross-references after the shapes are valid', () => {
    const text = MINIMAL.replace('route: [gpu, openai]', 'route: [gpu, nowhere]').replace(
      'aliases: [small]',
      'aliases: [llama-3.1-8b]',
    );
    const issues = issuesOf(() =>
      parseConfigText(text, 'x', { VLLM_URL: 'http://a:1', OPENAI_API_KEY: 'k', PORT: '1' }),
    );
    expect(issues).toContain('models[0].route[1]: unknown pool "nowhere" (pools: gpu, openai)');
    expect(issues).toContain('models[0].aliases[0]: "llama-3.1-8b" is already used');
  });

  it('rejects unknown keys (typos) instead of ignoring them', () => {
    const text = MINIMAL.replace('sloTtftMs: 1500', 'sloTtfMs: 1500');
    const issues = issuesOf(() =>
      parseConfigText(text, 'x', { VLLM_URL: 'http://a:1', OPENAI_API_KEY: 'k', PORT: '1' }),
    );
    expect(issues.some((issue) => issue.startsWith('models[0]:') && issue.includes('sloTtfMs'))).toBe(true);
  });

  it('loads a simulator driver that still sets the retired `profile` key, and drops it', () => {
    const pools = [
      {
        name: 'sim',
        kind: 'vllm',
        model: 'llama-3.1-8b',
        gpu: 'h100',
        driver: { type: 'simulator', profile: 'hosted', replicas: 2 },
      },
      { name: 'api', kind: 'openai', driver: { type: 'simulator', profile: 'vllm' } },
    ];
    const config = validateConfig({ pools, models: [{ name: 'm', route: ['sim', 'api'] }] });
    expect(config.pools.map((pool) => (pool.kind === 'llamacpp' ? undefined : pool.driver))).toEqual([
      { type: 'simulator', replicas: 2, options: {} },
      { type: 'simulator', replicas: 1, options: {} },
    ]);
    expect(
      issuesOf(() =>
        validateConfig({
          pools: [{ ...pools[1], driver: { type: 'simulator', profle: 'x' } }],
          models: [{ name: 'm', route: ['api'] }],
        }),
      ),
    ).toEqual([expect.stringContaining('profle')]);
  });

  it('reports YAML syntax errors and unreadable files', async () => {
    expect(issuesOf(() => parseConfigText('pools: [unclosed', 'bad.yaml', {}))[0]).toMatch(/^YAML: /);
    expect(issuesOf(() => parseConfigText('- just\n- a list', 'list.yaml', {}))[0]).toMatch(/^\(root\)/);
    await expect(loadConfigFile('/nonexistent/switchyard.yaml', {})).rejects.toBeInstanceOf(ConfigError);
  });

  it('loads a file from disk', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'switchyard-config-'));
    const path = join(directory, 'switchyard.yaml');
    await writeFile(path, MINIMAL);
    const config = await loadConfigFile(path, { VLLM_URL: 'http://127.0.0.1:1', OPENAI_API_KEY: 'k', PORT: '0' });
    expect(config.models[0]?.aliases).toEqual(['small']);
  });

  it('validates the example config shipped in router/', async () => {
    const path = new URL('../switchyard.example.yaml', import.meta.url).pathname;
    const config = await loadConfigFile(path, {});
    expect(config.pools.map((pool) => pool.name)).toEqual(['llama-8b', 'llama-70b', 'openai']);
    expect(config.auto?.classifier?.thresholds).toEqual([0.5]);
  });

  it('validates the embedded default, with and without an OpenAI key', () => {
    const offline = validateConfig(embeddedDefaultConfig({}), 'default', {});
    expect(offline.pools.map((pool) => pool.name)).toEqual(['llama-8b-a10g', 'llama-70b-a100', 'hosted-sim']);
    expect(offline.auto?.tiers).toEqual(['llama-3.1-8b', 'llama-3.1-70b']);
    const online = validateConfig(embeddedDefaultConfig({ OPENAI_API_KEY: 'sk-x' }), 'default', {
      OPENAI_API_KEY: 'sk-x',
    });
    const openai = online.pools.find((pool) => pool.name === 'openai');
    expect(openai?.kind === 'openai' && openai.apiKey).toBe('sk-x');
    expect(online.models[0]?.route).toEqual(['llama-8b-a10g', 'openai', 'hosted-sim']);
  });
});

describe('default total timeout', () => {
  it('lets the embedded default 70B (4×A100 80GB) write a 4096-token answer in a busy batch, with room to spare', () => {
    const stepTime = createStepTimeModel({
      model: getModel('llama-3.1-70b'),
      gpu: getGpu('a100-80gb'),
      tensorParallel: 4,
    });
    let decodeMs = stepTime.prefillMs(2_000);
    for (let token = 0; token < 4_096; token++) decodeMs += stepTime.decodeStepMs(32, 2_000 + token);
    const defaults = validateConfig(embeddedDefaultConfig({}), '(embedded default)', {});
    expect(decodeMs * 2).toBeLessThan(defaults.timeouts.totalMs);
  });
});
