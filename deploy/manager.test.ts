// End to end on real processes: `createDeployment` with the local driver, the scraper reading the replicas' real
// /metrics, the autoscaler on the real clock (short windows), load sent with the openai SDK. The pool runs hot, the
// autoscaler adds a replica, the new one becomes ready, and the decision is exported on /metrics.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseDeployConfig } from './config.ts';
import { createDeployment, resolveGpuIds } from './manager.ts';

describe('deployment: autoscaler + pool controller + local driver', () => {
  it('scales a hot pool up through the real control loop and exports the decision', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-deploy-e2e-'));
    const config = parseDeployConfig({
      driver: 'local',
      gpus: 2,
      stateDir: dir,
      simSpeed: 2,
      autoscaler: {
        intervalMs: 200,
        scaleUpWindowMs: 400,
        scaleUpCooldownMs: 0,
        scaleDownWindowMs: 600_000,
        utilizationSignal: 'kv',
      },
      pools: [
        {
          name: 'hot',
          model: 'llama-3.1-8b',
          gpu: 'a10g',
          replicas: 1,
          minReplicas: 1,
          maxReplicas: 2,
          maxNumSeqs: 4,
          // A tiny KV cache (40 blocks = 640 tokens): a few 130 + 400-token requests fill it and queue.
          extraArgs: ['--num-gpu-blocks-override', '40'],
          healthTimeoutMs: 20_000,
          stopGraceMs: 1_000,
        },
      ],
    });
    const deployment = await createDeployment(config, { logger: pino({ level: 'silent' }) });
    const abort = new AbortController();
    try {
      await deployment.controllers[0]!.scaleTo(1);
      const first = deployment.status().pools[0]!.replicas[0]!;
      const port = await deployment.serve(0);
      deployment.startLoops();

      const client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const load = Array.from({ length: 8 }, () =>
        client.chat.completions
          .create(
            {
              model: 'llama-3.1-8b',
              messages: [{ role: 'user', content: 'word '.repeat(120) }],
              max_tokens: 400,
              ignore_eos: true,
            } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
            { signal: abort.signal },
          )
          .catch(() => undefined),
      );

      const deadline = Date.now() + 25_000;
      while (
        Date.now() < deadline &&
        deployment.status().pools[0]!.replicas.filter((replica) => replica.state === 'ready').length < 2
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const status = deployment.status();
      expect(status.pools[0]!.replicas.map((replica) => replica.state)).toEqual(['ready', 'ready']);
      expect(new Set(status.pools[0]!.replicas.flatMap((replica) => replica.gpuIds))).toEqual(new Set(['0', '1']));
      const up = deployment.autoscaler.decisions('hot').find((decision) => decision.action === 'scale-up')!;
      expect(up).toMatchObject({ from: 1, to: 2 });
      expect(['above-band', 'queue-above-limit']).toContain(up.reason);
      expect(up.utilization! > 0.85 || up.waiting > 4).toBe(true);

      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(
          `switchyard_autoscaler_decisions_total\\{pool="hot",action="scale-up",reason="${up.reason}",dry_run="false"\\} 1`,
        ),
      );
      const statusJson = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
        autoscaler: { lastDecisions: { action: string }[] };
      };
      expect(statusJson.autoscaler.lastDecisions.map((decision) => decision.action)).toContain('scale-up');
      abort.abort();
      await Promise.all(load);
    } finally {
      abort.abort();
      await deployment.down();
      await deployment.close();
    }
  }, 60_000);
});

describe('deployment configuration on a host without GPUs', () => {
  it('gpus: auto fails clearly when nvidia-smi finds none; a number gives virtual ids', async () => {
    const base = { pools: [{ name: 'p', model: 'llama-3.1-8b', gpu: 'a10g' }] };
    await expect(resolveGpuIds(parseDeployConfig({ ...base, gpus: 'auto' }))).rejects.toThrow(
      /gpus: auto found no GPU \(nvidia-smi/,
    );
    expect(await resolveGpuIds(parseDeployConfig({ ...base, gpus: 3 }))).toEqual(['0', '1', '2']);
    expect(await resolveGpuIds(parseDeployConfig({ ...base, gpus: ['2', '5'] }))).toEqual(['2', '5']);
  });
});
