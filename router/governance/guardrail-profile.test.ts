// A key naming a guardrail profile the config does not define: refused by `switchyard keys create` (through
// bin/switchyard.js, exit 2, the known profiles listed, nothing written) and by POST /admin/keys (400), and a key that
// already names one (made before a config edit) is refused at admission rather than served with the default policy.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRouter, type TestRouter } from '../testing/harness.ts';
import { startFakeUpstream, type FakeUpstream } from '../../core/testing/fake-upstream.ts';
import { KeyStore } from './keys/store.ts';

const CLI = join(import.meta.dirname, '../../bin/switchyard.js');
const ADMIN = 'router-admin-token-0123456789';
const scratch = mkdtempSync(join(tmpdir(), 'switchyard-guardrail-profile-'));
const configFile = join(scratch, 'switchyard.yaml');
writeFileSync(
  configFile,
  [
    'pools:',
    '  - { name: gpu, kind: vllm, model: llama-3.1-8b, gpu: a10g }',
    'models:',
    '  - { name: llama-3.1-8b, route: [gpu] }',
    'governance:',
    '  guardrails:',
    '    profiles:',
    '      strict: { output: { leakage: block } }',
    '      open: { output: { pii: "off" } }',
    '',
  ].join('\n'),
);

function switchyard(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 110_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('switchyard keys create --guardrail-profile', () => {
  const keyArgs = ['keys', 'create', '--name', 'bot', '--owner', 'alice', '--json'];

  it('refuses a profile the config does not define: one line naming the known ones, exit 2, no key', () => {
    const db = join(scratch, 'refused.sqlite');
    const result = switchyard(...keyArgs, '--guardrail-profile', 'strikt', '--config', configFile, '--db', db);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe(
      `switchyard keys: --guardrail-profile: guardrail profile "strikt" is not defined in governance.guardrails.profiles of ${configFile} (known profiles: open, strict)`,
    );
    expect(result.stdout).toBe('');
    expect(existsSync(db)).toBe(false);
  }, 120_000);

  it('creates the key with a defined profile', () => {
    const db = join(scratch, 'created.sqlite');
    const result = switchyard(...keyArgs, '--guardrail-profile', 'strict', '--config', configFile, '--db', db);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'bot', guardrailProfile: 'strict' });
    const store = new KeyStore({ path: db, cacheMs: 0 });
    try {
      expect(store.list().map((record) => record.guardrailProfile)).toEqual(['strict']);
    } finally {
      store.close();
    }
  }, 120_000);

  it('without --config checks against the embedded default, which defines none, and says how to pass one', () => {
    const db = join(scratch, 'embedded.sqlite');
    const result = switchyard(...keyArgs, '--guardrail-profile', 'strict', '--db', db);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /"strict" is not defined in governance\.guardrails\.profiles of the embedded default config \(it defines no guardrail profiles\); pass --config/,
    );
    expect(existsSync(db)).toBe(false);
  }, 120_000);
});

describe('unknown guardrail profiles in the router', () => {
  let upstream: FakeUpstream;
  let harness: TestRouter;
  const database = join(scratch, 'router.sqlite');

  beforeAll(async () => {
    upstream = await startFakeUpstream({ chunks: ['Hello', '.'] });
    harness = await startTestRouter({
      pools: [
        {
          name: 'gpu',
          kind: 'vllm',
          model: 'llama-3.1-8b',
          gpu: 'a10g',
          backends: [{ id: 'gpu-0', url: upstream.url }],
        },
      ],
      models: [{ name: 'llama-3.1-8b', route: ['gpu'] }],
      governance: {
        enabled: true,
        keys: { database, adminToken: ADMIN },
        guardrails: { profiles: { strict: { output: { leakage: 'block' } } } },
        logging: { level: 'silent' },
      },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await upstream?.close();
  });

  const admin = (body: unknown): Promise<Response> =>
    fetch(`${harness.router.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'k', owner: 'tests', ...(body as object) }),
    });

  it('POST /admin/keys: 400 naming the known profiles; a defined one is accepted', async () => {
    const refused = await admin({ guardrailProfile: 'strikt' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: {
        message:
          'Invalid value for \'guardrailProfile\': guardrail profile "strikt" is not defined in governance.guardrails.profiles (known profiles: strict).',
        type: 'invalid_request_error',
        param: 'guardrailProfile',
        code: null,
      },
    });
    expect((await admin({ guardrailProfile: 'constructor' })).status).toBe(400);
    expect((await admin({ guardrailProfile: 'strict' })).status).toBe(201);
  });

  it('a stored key naming an undefined profile is refused at admission, not served with the default policy', async () => {
    // The key database outlives config edits: a key made for a profile that was since removed.
    const store = new KeyStore({ path: database, cacheMs: 0 });
    const { key } = store.create({ name: 'stale', owner: 'tests', guardrailProfile: 'removed' });
    store.close();
    const sdk = new OpenAI({ baseURL: `${harness.router.url}/v1`, apiKey: key, maxRetries: 0, timeout: 15_000 });
    const request = { model: 'llama-3.1-8b', messages: [{ role: 'user' as const, content: 'hi' }] };
    await expect(sdk.chat.completions.create(request)).rejects.toMatchObject({
      status: 500,
      code: 'unknown_guardrail_profile',
      message: expect.stringMatching(/guardrail profile is not defined in this router's config/) as unknown,
    });
    await expect(sdk.chat.completions.create({ ...request, stream: true })).rejects.toMatchObject({ status: 500 });
    expect(upstream.requests).toHaveLength(0);
  });
});
