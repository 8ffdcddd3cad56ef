// The shipped entry (dist/bin/main.js, esbuild's bundle: what `npm start` and the router image run) serves as the
// sources do: a one-pool router over a fake vLLM upstream answers /v1/models and a chat completion, rejects a bad
// body through the precompiled check and zod's message, and stops on SIGTERM. `npm test` builds before vitest runs.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeUpstream } from '../core/testing/fake-upstream.ts';
import { freePort, sleep } from '../benchmarks/process-stats.ts';

const DIST_BIN = fileURLToPath(new URL('../dist/bin/', import.meta.url));
const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe('the bundled entry (dist/bin/main.js)', () => {
  it('is the bundle, with lazily loaded chunks beside it', () => {
    expect(existsSync(join(DIST_BIN, 'chunks')), 'run `npm run build` first').toBe(true);
    expect(readFileSync(join(DIST_BIN, 'main.js'), 'utf8')).toContain('./chunks/');
  });

  it('serves a one-pool config and stops on SIGTERM', async () => {
    const upstream = await startFakeUpstream({ tokens: 4 });
    const folder = mkdtempSync(join(tmpdir(), 'switchyard-bundle-'));
    folders.push(folder);
    const config = join(folder, 'switchyard.yaml');
    writeFileSync(
      config,
      [
        'pools:',
        `  - { name: pool, kind: vllm, model: llama-3.1-8b, gpu: h100, backends: [{ url: "${upstream.url}" }] }`,
        'models:',
        '  - { name: llama-3.1-8b, route: [pool] }',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [join(DIST_BIN, 'main.js'), 'serve', '--config', config, '--port', String(port)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (piece: Buffer) => (stderr += piece.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    try {
      let models: { data: Array<{ id: string }> } | undefined;
      for (let attempt = 0; attempt < 600 && !models; attempt++) {
        if (child.exitCode !== null) break;
        models = await fetch(`${base}/v1/models`).then(
          async (response) => (response.ok ? ((await response.json()) as { data: Array<{ id: string }> }) : undefined),
          () => undefined,
        );
        if (!models) await sleep(100);
      }
      expect(models, stderr).toBeDefined();
      expect(models!.data.map((model) => model.id)).toContain('llama-3.1-8b');

      const post = (body: unknown): Promise<Response> =>
        fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const answer = await post({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] });
      expect(answer.status).toBe(200);
      const completion = (await answer.json()) as { choices: Array<{ message: { content: string } }> };
      expect(completion.choices[0]!.message.content.length).toBeGreaterThan(0);

      const bad = await post({ model: 'llama-3.1-8b', messages: [] });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('messages');
    } finally {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      await upstream.close();
      expect(code).toBe(0);
    }
  }, 90_000);
});
