// Progress reporters: a cli-progress bar on an interactive stderr, nothing otherwise (CI logs stay clean).
import cliProgress from 'cli-progress';
import type { ProgressReporter } from '../contracts.ts';

export const silentProgress: ProgressReporter = { start() {}, tick() {}, stop() {} };

export class BarProgress implements ProgressReporter {
  private readonly bar: cliProgress.SingleBar;
  private cached = 0;

  constructor(stream: NodeJS.WritableStream = process.stderr) {
    this.bar = new cliProgress.SingleBar(
      {
        format: 'eval {bar} {value}/{total} cases | {cached} cached | {caseId}',
        stream,
        hideCursor: true,
        clearOnComplete: false,
        // Redraw on every tick (tests and short suites finish before the default 100 ms redraw timer).
        fps: 1000,
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(total: number): void {
    this.bar.start(total, 0, { cached: 0, caseId: '' });
  }

  tick(info: { caseId: string; cached: boolean }): void {
    if (info.cached) this.cached++;
    this.bar.increment(1, { cached: this.cached, caseId: info.caseId });
  }

  stop(): void {
    this.bar.stop();
  }
}

export function defaultProgress(enabled: boolean): ProgressReporter {
  return enabled && process.stderr.isTTY ? new BarProgress() : silentProgress;
}
