// The stand-in for `vllm serve`: takes vLLM's command line, serves a simulated replica with vLLM's HTTP surface until
// SIGTERM/SIGINT. The local driver runs it as a child process (through tsx); the test image runs it bundled by esbuild
// as the container's entrypoint (FROM scratch: node + this file).
import { startSimReplica } from '../../models/sim/index.ts';
import { simOptionsFromVllmArgs } from './vllm-args.ts';

async function main(): Promise<void> {
  const options = simOptionsFromVllmArgs(process.argv.slice(2), process.env);
  const replica = await startSimReplica(options);
  console.log(`switchyard vllm stand-in: ${replica.servedModelName} on ${options.gpu} serving at ${replica.url}`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`received ${signal}, shutting down`);
    // Bounded: a hung connection must not keep the container alive past the driver's stop grace period.
    const force = setTimeout(() => process.exit(0), 5_000);
    force.unref();
    void replica.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(`switchyard vllm stand-in failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
