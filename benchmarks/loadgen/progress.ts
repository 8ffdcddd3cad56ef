// The live progress bar (cli-progress) on stderr; a no-op when stderr is not a terminal (CI logs, tests).
import cliProgress from 'cli-progress';
import type { RunHooks } from './runner.ts';

export function progressHooks(
  enabled = process.stderr.isTTY === true,
): Pick<RunHooks, 'onRunStart' | 'onRecord' | 'onRunEnd'> {
  if (!enabled) return {};
  let bar: cliProgress.SingleBar | undefined;
  let done = 0;
  let failed = 0;
  let started = 0;
  return {
    onRunStart: (label, total) => {
      done = 0;
      failed = 0;
      started = Date.now();
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${label.padEnd(28)} {bar} {value}/{total} req | {rps} req/s | failed {failed} | {duration_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      // Duration-bound runs have no known total: show the count against a moving target.
      bar.start(total ?? 1, 0, { rps: '0.0', failed: 0 });
    },
    onRecord: (record) => {
      done += 1;
      if (!record.success) failed += 1;
      if (!bar) return;
      if (done > bar.getTotal()) bar.setTotal(done);
      const seconds = Math.max(1e-3, (Date.now() - started) / 1000);
      bar.update(done, { rps: (done / seconds).toFixed(1), failed });
    },
    onRunEnd: () => {
      bar?.stop();
      bar = undefined;
    },
  };
}
