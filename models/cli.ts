// `switchyard catalog` and `switchyard sim`: the models/ layer's commands.
import type { Command } from 'commander';
import { printCatalog } from './catalog/print.ts';
import { registerSimCommand } from './sim/cli.ts';

export function registerModelCommands(program: Command): void {
  program
    .command('catalog')
    .description('list models, GPUs and prices, and what fits where')
    .option('--model <id>', 'show sizing for one model on every GPU')
    .option('--json', 'print JSON instead of tables')
    .action((options: { model?: string; json?: boolean }) => {
      printCatalog(options);
    });
  registerSimCommand(program);
}
