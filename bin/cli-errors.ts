// What the CLI prints for an error thrown by a command: one line, and whether it was the caller's mistake (exit 2) or a
// failure (exit 1). The caller's mistakes are the project's 4xx errors, config and input errors, CliErrors carrying
// exit code 2 and zod validation of options; anything else is a failure.
import { ZodError } from 'zod';
import { CliError } from '../core/errors.ts';

/** Error class names that mean "bad input" though they carry no HTTP status. */
const INPUT_ERROR_NAMES = new Set(['ConfigError', 'InvalidInputError', 'FaultSpecError', 'CalibrationInputError']);

export interface CliErrorText {
  message: string;
  /** The caller's mistake (bad argument, option, config or input file): exit 2. */
  usage: boolean;
}

export function describeCliError(error: unknown): CliErrorText {
  if (error instanceof ZodError) {
    const first = error.issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
    const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
    return { message: `${where}${first?.message ?? 'invalid input'}${more}`, usage: true };
  }
  if (!(error instanceof Error)) return { message: String(error), usage: false };
  // A file or folder named on the command line that is not there.
  const { code, path } = error as NodeJS.ErrnoException;
  if (code === 'ENOENT' && path !== undefined && error.message.startsWith('ENOENT')) {
    return { message: `no such file or directory: ${path}`, usage: true };
  }
  if (code === 'ENOENT') return { message: error.message.split('\n')[0] ?? 'no such file or directory', usage: true };
  const status = (error as { status?: unknown }).status;
  const usage =
    (typeof status === 'number' && status >= 400 && status < 500) ||
    INPUT_ERROR_NAMES.has(error.constructor.name) ||
    INPUT_ERROR_NAMES.has(error.name) ||
    (error instanceof CliError && error.exitCode === 2);
  // One line: multi-line messages (a config error lists every problem) are joined.
  const message = error.message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ');
  return { message: message || error.name, usage };
}
