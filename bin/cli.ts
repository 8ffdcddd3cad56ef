// `switchyard …`: one commander program; each folder registers its own subcommands from its own cli.ts.
// Folders are imported lazily: `switchyard serve` must not pay for loading ONNX runtimes, Docker clients or SQLite,
// so only the folder owning the first argument is loaded (all of them for help or an unknown command).
import { Command, CommanderError, Help, type Option } from 'commander';
import { describeCliError } from './cli-errors.ts';

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
    commands: ['ingest', 'query', 'embeddings'],
    load: async () => {
      const { registerRetrievalCommands } = await import('../retrieval/cli.ts');
      return (program) => registerRetrievalCommands(program);
    },
  },
  {
    commands: ['bench', 'breakeven'],
    load: async () => (await import('../benchmarks/cli.ts')).registerBenchmarkCommands,
  },
  {
    commands: ['prompts', 'traffic', 'feedback'],
    load: async () => (await import('../router/chain/cli.ts')).registerPromptCommands,
  },
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
  // Set before the folders register their commands: subcommands inherit these settings when they are created.
  const program = new Command('switchyard')
    .description('Self-hosted LLM inference + retrieval stack: router, simulator, retrieval, benchmarks, evals')
    // Commander's own errors (unknown option, bad choice, missing argument) as one line with the hint on it.
    .configureOutput({ outputError: (text, write) => write(`${text.trimEnd()} (add --help for usage)\n`) })
    .exitOverride()
    .configureHelp({ optionDescription: describeOption });
  const owners = FOLDERS.filter((folder) => commandName !== undefined && folder.commands.includes(commandName));
  for (const folder of owners.length > 0 ? owners : FOLDERS) {
    (await folder.load())(program);
  }
  return program;
}

/** Commander's option help, with options a command cannot run without marked "(required)". */
function describeOption(option: Option): string {
  const text = Help.prototype.optionDescription.call(new Help(), option);
  return option.mandatory ? `${text} (required)` : text;
}

/**
 * Runs the CLI. A mistake in the command line (commander's own checks, or a command rejecting a value) prints one line
 * and exits 2; any other failure prints one line and exits 1; SWITCHYARD_DEBUG=1 adds the stack.
 */
export async function main(argv: string[]): Promise<void> {
  // Output piped into `head` and closed early is not a failure.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const program = await buildProgram(argv[2]);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the message (and help for a bare command); --help and --version end with code 0.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    const { message, usage } = describeCliError(error);
    process.stderr.write(`switchyard ${argv[2] ?? ''}: ${message}\n`.replace(' :', ':'));
    if (process.env['SWITCHYARD_DEBUG'] === '1' && error instanceof Error && error.stack)
      process.stderr.write(`${error.stack}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}
