// `switchyard engine build|path|tiny-model llamacpp`: builds llama.cpp's llama-server into the machine's engine cache,
// prints where it is (exit 1 with the command to run when it is missing) and writes the tiny random-weight GGUF.
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { buildLlamaServer } from './llamacpp/build.ts';
import { locateLlamaServer, missingEngineMessage } from './llamacpp/paths.ts';
import { generateTinyModel, tinyModelFileName } from './llamacpp/tiny-model.ts';

const ENGINES = ['llamacpp'] as const;

function engineName(value: string): string {
  if (!(ENGINES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`unknown engine "${value}" (known: ${ENGINES.join(', ')})`);
  return value;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return parsed;
}

export function registerEngineCommands(program: Command): void {
  const engine = program
    .command('engine')
    .description('Build and locate real inference engines (llama.cpp llama-server) for CPU pools and tests');
  engine
    .command('build')
    .argument('<engine>', 'engine to build: llamacpp', engineName)
    .description(
      'Build llama-server from the llama.cpp source in node-llama-cpp@3.21.1 (cmake, CPU); cached, reused when present',
    )
    .option('--source <dir>', 'build this llama.cpp checkout instead (an existing build/ tree in it is reused)')
    .option('--force', 'rebuild even when an install exists')
    .option('--jobs <n>', 'parallel compile jobs (default: all cores)', positiveInteger)
    .action(async (_engine: string, options: { source?: string; force?: boolean; jobs?: number }) => {
      const result = await buildLlamaServer({
        ...(options.source === undefined ? {} : { source: options.source }),
        ...(options.force ? { force: true } : {}),
        ...(options.jobs === undefined ? {} : { jobs: options.jobs }),
      });
      process.stdout.write(`${result.install.binary}\n`);
    });
  engine
    .command('path')
    .argument('<engine>', 'engine: llamacpp', engineName)
    .description('Print the installed llama-server binary (exit 1 when it is not built)')
    .action(() => {
      const install = installedOrExplain();
      if (!install) return;
      process.stdout.write(`${install.binary}\n`);
    });
  engine
    .command('tiny-model')
    .argument('<engine>', 'engine: llamacpp', engineName)
    .description('Write the tiny random-weight Llama GGUF (Llama 3 tokenizer) into the engine cache and print its path')
    .action(() => {
      const install = installedOrExplain();
      if (!install) return;
      process.stdout.write(`${generateTinyModel(install.vocab, join(install.modelsDir, tinyModelFileName()))}\n`);
    });
}

/** The installed llama-server, or undefined after saying how to build it (exit code 1). */
function installedOrExplain(): ReturnType<typeof locateLlamaServer> {
  const install = locateLlamaServer();
  if (!install) {
    process.stderr.write(`${missingEngineMessage()}\n`);
    process.exitCode = 1;
  }
  return install;
}
