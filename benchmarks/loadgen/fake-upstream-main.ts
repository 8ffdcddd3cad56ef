// Runs the test kit's fake upstream (core/testing/fake-upstream.ts) as its own process, so its CPU is not the
// generator's: prints {"baseUrl": ...} on stdout and serves until SIGTERM/SIGINT or until a forking parent
// disconnects. Usage: tsx fake-upstream-main.ts --ttft 20 --itl 5
import { parseArgs } from 'node:util';
import { LOAD_TEST_SHAPE, startFakeUpstream } from '../../core/testing/fake-upstream.ts';

const { values } = parseArgs({
  options: { ttft: { type: 'string', default: '0' }, itl: { type: 'string', default: '0' } },
});
const upstream = await startFakeUpstream({
  ...LOAD_TEST_SHAPE,
  ttftMs: Number(values.ttft),
  itlMs: Number(values.itl),
});
process.stdout.write(`${JSON.stringify({ baseUrl: upstream.baseURL })}\n`);
const stop = () => {
  void upstream.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
