// Rate limits and budgets through the HTTP chain: 429 + retry-after, no budget overshoot under 100 concurrent SDK
// requests (memory backend in one process; Redis shared by two replica processes), release on failure, alerts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore, periodsOf } from './keys/store.ts';
import { connectRedis } from './redis-client.ts';
import { startChainApp, type ChainApp } from './testing/chain-app.ts';
import { startRedisServer, stopChild, waitForOutput, type RunningRedis } from './testing/binaries.ts';

const ask = (url: string, key: string, headers: Record<string, string> = {}) =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 }).chat.completions.create(
    { model: 'hosted-small', max_tokens: 100, messages: [{ role: 'user', content: 'spend a little' }] },
    { headers },
  );

async function settleAll<T>(
  tasks: Array<Promise<T>>,
): Promise<{ ok: T[]; errors: Array<{ status?: number; code?: string }> }> {
  const results = await Promise.allSettled(tasks);
  return {
    ok: results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    errors: results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as { status?: number; code?: string }] : [],
    ),
  };
}

describe('limits and budgets in one process (memory backend)', () => {
  let app: ChainApp;
  let hook: Server;
  const alerts: unknown[] = [];
  beforeAll(async () => {
    hook = createServer((request, response) => {
      let body = '';
      request.on('data', (piece: Buffer) => (body += piece.toString()));
      request.on('end', () => {
        alerts.push(JSON.parse(body));
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
    app = await startChainApp({
      enabled: true,
      keys: { database: ':memory:' },
      budgets: { alertThresholds: [0.5, 1], webhookUrl: hookUrl },
    });
  });
  afterAll(async () => {
    await app?.close();
    await new Promise<void>((resolve) => hook?.close(() => resolve()));
  });

  it('answers 429 with retry-after once the RPM bucket is empty', async () => {
    const { key } = app.governance.keys?.create({ name: 'rpm', owner: 'o', rpm: 2 }) ?? { key: '' };
    await ask(app.url, key);
    await ask(app.url, key);
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'hosted-small', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(15);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(await response.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded' } });
  });

  it('100 concurrent requests against a nearly spent budget never overshoot it', async () => {
    // Worst case per request ≈ (prompt + 100 tokens) at gpt-4o-mini prices ≈ $0.0000625; room for 3 at a time, ~35 by real cost: far fewer than 100.
    const budget = 0.0002;
    const created = app.governance.keys?.create({ name: 'budget', owner: 'o', dailyBudgetUsd: budget });
    if (!created) throw new Error('no key store');
    const { ok, errors } = await settleAll(Array.from({ length: 100 }, () => ask(app.url, created.key)));
    expect(ok.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toMatchObject({ status: 429, code: 'insufficient_quota' });
    const spent = app.governance.keys?.spentBetween(created.record.id, '0000-01-01', '9999-12-31') ?? Infinity;
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(budget);
    const scope = `${created.record.id}:day:${periodsOf(Date.now()).day}`;
    const state = await app.governance.ledger.state(scope);
    expect(state.committedNanos).toBe(state.spentNanos);
    // Alerts fired once per threshold, as a metric and a webhook call.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alerts.filter((alert) => (alert as { keyId: string }).keyId === created.record.id)).toHaveLength(1);
    expect(await app.registry.getSingleMetricAsString('switchyard_budget_alerts_total')).toContain(
      'threshold="0.5"} 1',
    );
  });

  it('releases the reservation when the upstream fails', async () => {
    const created = app.governance.keys?.create({ name: 'release', owner: 'o', dailyBudgetUsd: 1 });
    if (!created) throw new Error('no key store');
    await expect(ask(app.url, created.key, { 'x-test-fail': '1' })).rejects.toMatchObject({ status: 502 });
    const state = await app.governance.ledger.state(`${created.record.id}:day:${periodsOf(Date.now()).day}`);
    expect(state).toEqual({ committedNanos: 0, spentNanos: 0 });
    expect(app.governance.recentErrors[0]).toMatchObject({ status: 502 });
  });

  it('clamps max_tokens to the key maximum and applies its default', async () => {
    const created = app.governance.keys?.create({ name: 'len', owner: 'o', defaultMaxTokens: 50, maxMaxTokens: 80 });
    if (!created) throw new Error('no key store');
    const clamped = await app.governance.admit({
      endpoint: 'chat',
      key: created.record,
      requestId: 'len-1',
      body: { model: 'small', max_tokens: 500, messages: [{ role: 'user', content: 'x' }] },
    });
    expect(clamped.body['max_tokens']).toBe(80);
    const defaulted = await app.governance.admit({
      endpoint: 'chat',
      key: created.record,
      requestId: 'len-2',
      body: { model: 'small', messages: [{ role: 'user', content: 'x' }] },
    });
    expect(defaulted.body['max_tokens']).toBe(50);
  });
});

describe('two router processes sharing one real Redis', () => {
  let redis: RunningRedis;
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  let dir: string;
  let store: KeyStore;

  beforeAll(async () => {
    redis = await startRedisServer();
    dir = mkdtempSync(join(tmpdir(), 'switchyard-gov-'));
    const database = join(dir, 'governance.sqlite');
    store = new KeyStore({ path: database });
    const config = JSON.stringify({
      enabled: true,
      keys: { database, cacheMs: 0 },
      limits: { backend: 'redis', redisUrl: redis.url, redisPrefix: 'two:' },
    });
    const script = new URL('./testing/replica-main.ts', import.meta.url).pathname;
    for (let index = 0; index < 2; index++) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, config], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let url = '';
      child.stdout?.on('data', (data: Buffer) => {
        const match = /READY (\S+)/.exec(data.toString());
        if (match) url = match[1] as string;
      });
      if (!(await waitForOutput(child, /READY/, 20_000))) throw new Error('replica did not start');
      await new Promise((resolve) => setTimeout(resolve, 10));
      urls.push(url);
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all(children.map((child) => stopChild(child)));
    store?.close();
    await redis?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('100 concurrent requests split over both replicas never overshoot the shared budget', async () => {
    const budget = 0.0002;
    const { key, record } = store.create({ name: 'shared', owner: 'o', dailyBudgetUsd: budget });
    const { ok, errors } = await settleAll(
      Array.from({ length: 100 }, (_, index) => ask(urls[index % 2] as string, key)),
    );
    expect(ok.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toMatchObject({ status: 429, code: 'insufficient_quota' });
    const client = await connectRedis(redis.url);
    const values = await client.hGetAll(`two:budget:${record.id}:day:${periodsOf(Date.now()).day}`);
    await client.close();
    expect(Number(values['s'])).toBeGreaterThan(0);
    expect(Number(values['s'])).toBeLessThanOrEqual(budget * 1e9);
    expect(Number(values['c'])).toBe(Number(values['s']));
  });

  it('shares RPM buckets: both replicas together admit only the key’s limit', async () => {
    const { key } = store.create({ name: 'rpm-shared', owner: 'o', rpm: 10 });
    const started = Date.now();
    const { ok, errors } = await settleAll(
      Array.from({ length: 30 }, (_, index) => ask(urls[index % 2] as string, key)),
    );
    const refills = Math.floor(((Date.now() - started) * 10) / 60_000);
    expect(ok.length).toBeGreaterThanOrEqual(10);
    expect(ok.length).toBeLessThanOrEqual(10 + refills);
    for (const error of errors) expect(error).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
  });
});
