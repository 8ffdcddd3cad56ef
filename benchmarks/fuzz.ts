// `npx tsx benchmarks/fuzz.ts [--bodies 10000] [--seed 1] [--concurrency 8] [--url http://127.0.0.1:8080]`
// Mutated bodies against every POST route of the embedded default (started here on loopback, or --url); exits 1 on
// any 5xx, any error without OpenAI's shape, any request without an answer, or a dead server.
import { parseArgs } from 'node:util';
import { runFuzz } from './fuzz/run.ts';
import { startFuzzTarget } from './fuzz/target.ts';

const { values } = parseArgs({
  options: {
    bodies: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
    url: { type: 'string' },
  },
});
const bodies = Number(values.bodies);
const seed = Number(values.seed);
const target = values.url ? undefined : await startFuzzTarget();
const url = values.url ?? target!.url;
const started = Date.now();
console.log(`fuzzing ${url}: ${bodies} bodies, seed ${seed}`);
const report = await runFuzz({
  url,
  bodies,
  seed,
  concurrency: Number(values.concurrency),
  onProgress: (done, failures) => console.log(`  ${done}/${bodies} sent, ${failures} failures`),
});
console.log(
  `sent ${report.sent} in ${((Date.now() - started) / 1000).toFixed(1)} s; statuses ${JSON.stringify(report.byStatus)}; server ${report.healthy ? 'alive' : 'DEAD'}`,
);
for (const failure of report.failures.slice(0, 30)) console.log(`FAIL ${failure.mutation}\n     ${failure.reason}`);
if (report.failures.length > 30) console.log(`… and ${report.failures.length - 30} more`);
for (const error of target?.serverErrors.slice(0, 5) ?? []) console.log('server error:', error);
await target?.close();
console.log(
  report.failures.length === 0 && report.healthy ? 'PASS: 0 failures' : `FAIL: ${report.failures.length} failures`,
);
process.exit(report.failures.length === 0 && report.healthy ? 0 : 1);
