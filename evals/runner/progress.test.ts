import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BarProgress, defaultProgress, silentProgress } from './progress.ts';

describe('progress', () => {
  it('draws a cli-progress bar with counts, cache hits and the current case on a terminal', () => {
    const chunks: string[] = [];
    const terminal = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk.toString());
          callback();
        },
      }),
      { isTTY: true, columns: 120 },
    );
    const progress = new BarProgress(terminal);
    progress.start(3);
    progress.tick({ caseId: 'first', cached: true });
    progress.tick({ caseId: 'second', cached: false });
    progress.tick({ caseId: 'third', cached: true });
    progress.stop();
    const text = chunks.join('');
    expect(text).toMatch(/3\/3 cases \| 2 cached \| third/);
  });

  it('is silent when disabled or when stderr is not a terminal', () => {
    expect(defaultProgress(false)).toBe(silentProgress);
    if (!process.stderr.isTTY) expect(defaultProgress(true)).toBe(silentProgress);
  });
});
