import { describe, expect, it } from 'vitest';
import { buildProgram } from './cli.ts';

describe('switchyard CLI', () => {
  it('registers every folder for help, and each command name maps to the folder that owns it', async () => {
    const all = await buildProgram();
    const names = all.commands.map((command) => command.name());
    for (const name of [
      'catalog',
      'sim',
      'serve',
      'calibrate',
      'keys',
      'ingest',
      'query',
      'embeddings',
      'bench',
      'breakeven',
      'eval',
      'deploy',
      'engine',
      'prompts',
      'traffic',
      'feedback',
    ]) {
      expect(names).toContain(name);
      const only = await buildProgram(name);
      expect(only.commands.map((command) => command.name())).toContain(name);
    }
  }, 120_000); // imports every folder (ONNX runtime, Docker client, SQLite) eleven times: slow on a loaded machine

  it('loads only the owning folder for a known command', async () => {
    const program = await buildProgram('catalog');
    expect(program.commands.map((command) => command.name()).sort()).toEqual(['catalog', 'sim']);
  });
});
