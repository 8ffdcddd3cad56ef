import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { registerGovernanceCommands } from './cli.ts';
import { KeyStore } from './keys/store.ts';

async function run(args: string[]): Promise<string> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
  const program = new Command('switchyard').exitOverride();
  registerGovernanceCommands(program);
  try {
    await program.parseAsync(['node', 'switchyard', ...args]);
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

describe('switchyard keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-keys-cli-'));
  const db = join(dir, 'governance.sqlite');

  it('creates (printing the key once), lists hints, disables and reports spend', async () => {
    const created = JSON.parse(
      await run([
        'keys',
        'create',
        '--name',
        'bot',
        '--owner',
        'alice',
        '--team',
        'search',
        '--rpm',
        '60',
        '--daily-budget',
        '2.5',
        '--models',
        'a,b',
        '--db',
        db,
        '--json',
      ]),
    ) as {
      key: string;
      id: string;
      rpm: number;
      dailyBudgetUsd: number;
      allowedModels: string[];
    };
    expect(created).toMatchObject({ rpm: 60, dailyBudgetUsd: 2.5, allowedModels: ['a', 'b'] });
    const listed = await run(['keys', 'list', '--db', db]);
    expect(listed).toContain(created.id);
    expect(listed).not.toContain(created.key);
    expect(await run(['keys', 'disable', created.id, '--db', db])).toBe(`${created.id} disabled`);
    const store = new KeyStore({ path: db, cacheMs: 0 });
    expect(store.authenticate(created.key)?.disabled).toBe(true);
    store.recordSpend({
      keyId: created.id,
      team: 'search',
      model: 'a',
      day: '2026-11-27',
      promptTokens: 3,
      completionTokens: 4,
      costUsd: 0.5,
      cached: false,
    });
    store.close();
    expect((await run(['keys', 'spend', '--group', 'team', '--db', db])).split('\n')).toEqual([
      'team    requests  cached  prompt tokens  completion tokens    cost $',
      'search         1       0              3                  4  0.500000',
    ]);
    expect(JSON.parse(await run(['keys', 'spend', '--group', 'team', '--db', db, '--json']))).toEqual([
      { group: 'search', requests: 1, cachedRequests: 0, promptTokens: 3, completionTokens: 4, costUsd: 0.5 },
    ]);
    await expect(run(['keys', 'create', '--name', 'x', '--owner', 'y', '--rpm', '-1', '--db', db])).rejects.toThrow(
      /--rpm must be a positive integer/,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});
