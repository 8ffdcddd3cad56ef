// `npm start` and the router image run node with the flags the benchmarks measure (router/node-flags.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROUTER_NODE_FLAGS } from './node-flags.ts';

const root = new URL('..', import.meta.url).pathname;

describe('router node flags', () => {
  it('npm start runs node with them', () => {
    const scripts = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> })
      .scripts;
    expect(scripts['start']).toBe(`node ${ROUTER_NODE_FLAGS.join(' ')} dist/bin/main.js serve`);
  });

  it('the router image runs node with them', () => {
    const dockerfile = readFileSync(`${root}deploy/docker/router.Dockerfile`, 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['/nodejs/bin/node', ...ROUTER_NODE_FLAGS, 'dist/bin/main.js']);
  });
});
