// `switchyard …`: one commander program; each folder registers its own subcommands from its own cli.ts.
// Folders are imported lazily: `switchyard serve` must not pay for loading ONNX runtimes, Docker clients or SQLite,
// so only the folder owning the first argument is loaded (all of them for help or an unknown command).
import { Command } from 'commander';

type Register = (program: Command) => void;

interface CommandFolder {
  commands: readonly string[];
  load(): Promise<Register>;
}

const FOLDERS: readonly CommandFolder[] = [
  { commands: ['catalog', 'sim'], load: async () => (await import('../models/cli.ts')).registerModelCommands },
  { commands: ['serve'], load: async () => (await import('../router/cli.ts')).registerRouterCommands },
  { commands: ['calibrate'], load: async () => (await import('../router/tiers/cli.ts')).registerTierCommands },
  { commands: ['keys'], load: async () => (await import('../router/governance/cli.ts')).registerGovernanceCommands },
  {
    commands: ['ingest', 'query'],
    load: async () => {
      const { registerRetrievalCommands } = await import('../retrieval/cli.ts');
      return (program) => registerRetrievalCommands(program);
    },
  },
  { commands: ['bench', 'breakeven'], load: async () => (await import('../benchmarks/cli.ts')).registerBenchmarkCommands },
  { commands: ['eval'], load: async () => (await import('../evals/cli.ts')).registerEvalCommands },
  { commands: ['engine'], load: async () => (await import('../deploy/engines/cli.ts')).registerEngineCommands },
  {
    commands: ['deploy'],
    load: async () => {
      const { registerDeployCommands } = await import('../deploy/cli.ts');
      return (program) => registerDeployCommands(program);
    },
  },
];

/** Builds the program with the folders that own `commandName`, or with every folder when it is not a known command. */
export async function buildProgram(commandName?: string): Promise<Command> {
  const program = new Command('switchyard')
    .description('Self-hosted LLM inference + retrieval stack: router, simulator, retrieval, benchmarks, evals')
    .showHelpAfterError();
  const owners = FOLDERS.filter((folder) => commandName !== undefined && folder.commands.includes(commandName));
  for (const folder of owners.length > 0 ? owners : FOLDERS) {
    (await folder.load())(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv[2]);
  await program.parseAsync(argv);
}
