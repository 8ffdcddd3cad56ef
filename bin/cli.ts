// `switchyard …`: one commander program; each folder registers its own subcommands.
import { Command } from 'commander';
import { registerModelCommands } from '../models/cli.ts';
import { registerBenchmarkCommands } from '../benchmarks/cli.ts';

export function buildProgram(): Command {
  const program = new Command('switchyard')
    .description('Self-hosted LLM inference + retrieval stack: router, simulator, retrieval, benchmarks, evals')
    .showHelpAfterError();
  registerModelCommands(program);
  registerBenchmarkCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
