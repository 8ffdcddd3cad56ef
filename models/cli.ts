// `switchyard catalog` and `switchyard sim`: the models/ layer's commands.
import { type Command, Option } from 'commander';
import { ModelId } from './catalog/models.ts';
import { printCatalog } from './catalog/print.ts';
import { registerSimCommand } from './sim/cli.ts';

export function registerModelCommands(program: Command): void {
  program
    .command('catalog')
    .description('list models, GPUs and prices, and what fits where')
    .addOption(new Option('--model <id>', 'show sizing for one model on every GPU').choices(ModelId.options))
    .option('--json', 'print JSON instead of tables')
    .action((options: { model?: string; json?: boolean }) => {
      printCatalog(options);
    });
  registerSimCommand(program);
}
