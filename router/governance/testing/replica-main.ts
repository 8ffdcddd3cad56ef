// One router-like replica process for the shared-Redis test: argv[2] is the governance config as JSON. Prints
// `READY <url>` once listening and exits on SIGTERM (flushing spend rows to the shared SQLite file).
import { startChainApp } from './chain-app.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const app = await startChainApp(config);
console.log(`READY ${app.url}`);
const stop = (): void => {
  void app.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
