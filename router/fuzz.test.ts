// The fuzzer in CI: 2,000 seeded mutated bodies against every POST route of the embedded default (in this process,
// loopback, simulated engines at 50× speed). Any 5xx, error without OpenAI's shape, request without an answer or a
// dead server fails the test. `npx tsx benchmarks/fuzz.ts` runs the 10,000-body version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBodyGenerator } from '../benchmarks/fuzz/bodies.ts';
import { judge, runFuzz } from '../benchmarks/fuzz/run.ts';
import { startFuzzTarget, type FuzzTarget } from '../benchmarks/fuzz/target.ts';

let target: FuzzTarget;

beforeAll(async () => {
  target = await startFuzzTarget();
}, 120_000);
afterAll(async () => {
  await target?.close();
});

describe('fuzzer', () => {
  it('generates the same bodies from the same seed', () => {
    const first = createBodyGenerator(3);
    const second = createBodyGenerator(3);
    for (let index = 0; index < 50; index++) expect(second(index)).toEqual(first(index));
  });

  it('judges 5xx, shapeless errors and broken streams as failures', () => {
    expect(
      judge({
        status: 500,
        contentType: 'application/json',
        text: '{"error":{"message":"x","type":"t","param":null,"code":null}}',
      }),
    ).toMatch(/500/);
    expect(judge({ status: 404, contentType: 'application/json', text: '{"detail":"Not Found"}' })).toMatch(/shape/);
    expect(judge({ status: 400, contentType: 'text/html', text: '<html>' })).toMatch(/non-JSON/);
    expect(
      judge({
        status: 200,
        contentType: 'text/event-stream',
        text: 'data: {"error":{"message":"boom"}}\n\ndata: [DONE]\n\n',
      }),
    ).toMatch(/shape/);
    expect(judge({ status: 200, contentType: 'text/event-stream', text: 'data: {"choices":[]}\n\n' })).toMatch(/DONE/);
    expect(
      judge({
        status: 400,
        contentType: 'application/json',
        text: '{"error":{"message":"x","type":"invalid_request_error","param":null,"code":null}}',
      }),
    ).toBeUndefined();
  });

  it('2,000 bodies: no 5xx, every error in OpenAI shape, the server alive', async () => {
    const report = await runFuzz({ url: target.url, bodies: 2_000, seed: 2026, concurrency: 8 });
    expect(report.failures).toEqual([]);
    expect(report.healthy).toBe(true);
    expect(report.sent).toBe(2_000);
    expect(target.serverErrors).toEqual([]);
  }, 600_000);
});
