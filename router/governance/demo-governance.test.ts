// The embedded default's governance as a new user meets it: `switchyard serve` (the real CLI, its own process) prints a
// demo key; keyless requests from this machine are served and billed to it; a wrong key is still refused; /dashboard
// is served; `switchyard keys spend` shows the traffic; SWITCHYARD_REQUIRE_KEYS=1 turns keyless access off. A keyless
// request from another address is refused (checked on the auth step itself: tests only use loopback).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.ts';
import { embeddedDefaultConfig } from '../config/default.ts';
import { Governance } from './governance.ts';
import { authenticateRequest } from './http.ts';
import { ensureDemoKey } from './keys/demo-key.ts';
import { isLoopbackAddress } from './keys/loopback.ts';
import { KeyStore } from './keys/store.ts';
import { PricingCatalog } from './cost/pricing.ts';
import { Registry } from 'prom-client';
import { freePort, stopChild, waitForOutput } from './testing/binaries.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'switchyard.js');
const work = mkdtempSync(join(tmpdir(), 'switchyard-demo-governance-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(children.map((child) => stopChild(child)));
  rmSync(work, { recursive: true, force: true });
});

async function serve(cwd: string, env: Record<string, string> = {}): Promise<{ url: string; output: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port)], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (piece: Buffer) => (output += piece.toString()));
  child.stderr?.on('data', (piece: Buffer) => (output += piece.toString()));
  // Process start plus four simulated replicas: generous, for a loaded machine.
  expect(await waitForOutput(child, /require keys:|API keys required/, 150_000)).toBe(true);
  return { url: `http://127.0.0.1:${port}`, output: () => output };
}

describe('embedded default: keys optional on this machine, visible, billed', () => {
  it('prints a demo key, serves keyless local requests as it, fills keys spend and /dashboard', async () => {
    const cwd = mkdtempSync(join(work, 'open-'));
    const { url, output } = await serve(cwd);
    const printed = /API key "demo": (sy-\S+)/.exec(output())?.[1];
    expect(printed).toBeDefined();
    expect(readFileSync(join(cwd, '.switchyard', 'demo.key'), 'utf8').trim()).toBe(printed);
    expect(statSync(join(cwd, '.switchyard', 'demo.key')).mode & 0o077).toBe(0);
    expect(output()).toContain(`dashboard: ${url}/dashboard`);

    const keyless = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'small', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 }),
    });
    expect(keyless.status).toBe(200);
    const sdk = new OpenAI({ baseURL: `${url}/v1`, apiKey: printed ?? '', maxRetries: 0, timeout: 30_000 });
    const answer = await sdk.chat.completions.create({
      model: 'small',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 8,
    });
    expect(answer.usage?.completion_tokens).toBeGreaterThan(0);
    // SDKs insist on some key: an unknown one from this machine is billed to the demo key too.
    const placeholder = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0, timeout: 30_000 });
    expect(
      (
        await placeholder.chat.completions.create({
          model: 'small',
          messages: [{ role: 'user', content: 'hey' }],
          max_tokens: 8,
        })
      ).choices,
    ).toHaveLength(1);
    const dashboard = await fetch(`${url}/dashboard`);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain('Switchyard dashboard');
    // The dashboard shows current health (scrapes refresh it), not what the last routed request saw.
    let healthy: boolean[] = [];
    for (
      const deadline = Date.now() + 60_000;
      Date.now() < deadline;
      await new Promise((resolve) => setTimeout(resolve, 200))
    ) {
      const data = (await (await fetch(`${url}/dashboard/data`)).json()) as { backends: { healthy: boolean }[] };
      healthy = data.backends.map((backend) => backend.healthy);
      if (healthy.length === 4 && healthy.every(Boolean)) break;
    }
    expect(healthy).toEqual([true, true, true, true]);

    await new Promise((resolve) => setTimeout(resolve, 1_500)); // spend rows are written in batches (flushMs 1 s)
    const spend = spawnSync(process.execPath, [CLI, 'keys', 'spend', '--json'], { cwd, encoding: 'utf8' });
    expect(spend.status).toBe(0);
    const rows = JSON.parse(spend.stdout) as { group: string; requests: number }[];
    const store = new KeyStore({ path: join(cwd, '.switchyard', 'governance.sqlite'), cacheMs: 0 });
    const demo = store.list().find((record) => record.name === 'demo');
    store.close();
    expect(rows.find((row) => row.group === demo?.id)?.requests).toBe(3);
  }, 240_000);

  it('SWITCHYARD_REQUIRE_KEYS=1: keyless requests get 401 and the banner says how to create a key', async () => {
    const cwd = mkdtempSync(join(work, 'closed-'));
    const { url, output } = await serve(cwd, { SWITCHYARD_REQUIRE_KEYS: '1' });
    expect(output()).toContain('API keys required: npx switchyard keys create');
    expect(output()).not.toContain('API key "demo"');
    const keyless = await fetch(`${url}/v1/models`);
    expect(keyless.status).toBe(401);
    expect(((await keyless.json()) as { error: { code: string } }).error.code).toBe('missing_api_key');
  }, 180_000);

  it('keyless from another address is refused; the demo key is kept across starts and replaced when disabled', () => {
    expect(['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'].map(isLoopbackAddress)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['10.0.0.5', '::ffff:10.0.0.5', '128.0.0.1', '::2', undefined].map(isLoopbackAddress)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);

    const database = join(work, 'unit', 'governance.sqlite');
    const first = ensureDemoKey(database, 'demo');
    expect(first.created).toBe(true);
    const again = ensureDemoKey(database, 'demo');
    expect(again).toMatchObject({ key: first.key, created: false });

    const config = validateConfig(embeddedDefaultConfig({ SWITCHYARD_GOVERNANCE_DB: database }), 'default', {
      SWITCHYARD_GOVERNANCE_DB: database,
    });
    const governanceConfig = {
      ...config.governance,
      logging: { ...config.governance.logging, level: 'silent' as const },
    };
    const governance = new Governance({
      config: governanceConfig,
      registry: new Registry(),
      pricing: new PricingCatalog([], []),
    });
    try {
      const request = (remoteAddress: string, authorization?: string): IncomingMessage =>
        ({ headers: authorization ? { authorization } : {}, socket: { remoteAddress } }) as unknown as IncomingMessage;
      const response = {} as ServerResponse;
      expect(() => authenticateRequest(governance, '/v1/models', request('127.0.0.1'), response)).not.toThrow();
      expect(() => authenticateRequest(governance, '/v1/models', request('10.0.0.5'), response)).toThrow(
        expect.objectContaining({ status: 401 }),
      );
      expect(() =>
        authenticateRequest(governance, '/v1/models', request('10.0.0.5', `Bearer ${first.key}`), response),
      ).not.toThrow();
      expect(() =>
        authenticateRequest(governance, '/v1/models', request('127.0.0.1', 'Bearer sy-unknown'), response),
      ).not.toThrow();
      expect(() =>
        authenticateRequest(governance, '/v1/models', request('10.0.0.5', 'Bearer sy-unknown'), response),
      ).toThrow(expect.objectContaining({ status: 401 }));
      const store = new KeyStore({ path: database, cacheMs: 0 });
      const other = store.create({ name: 'other', owner: 'tests' });
      store.setDisabled(other.record.id, true);
      store.close();
      // A disabled key is refused from this machine too: it is not "no key".
      expect(() =>
        authenticateRequest(governance, '/v1/models', request('127.0.0.1', `Bearer ${other.key}`), response),
      ).toThrow(expect.objectContaining({ status: 401, code: 'api_key_disabled' }));
    } finally {
      void governance.close();
    }

    const store = new KeyStore({ path: database, cacheMs: 0 });
    store.setDisabled(first.record.id, true);
    store.close();
    const replaced = ensureDemoKey(database, 'demo');
    expect(replaced.created).toBe(true);
    expect(replaced.key).not.toBe(first.key);
  });
});
