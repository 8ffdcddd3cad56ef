// The benchmark tools' branch of the one error tree (core/errors.ts). The CLI prints `message` and exits non-zero;
// nothing here is a crash.
import { SwitchyardError } from '../../core/errors.ts';

export class BenchmarkError extends SwitchyardError {}

/** A flag, file or config value is invalid (unknown model, negative rate, unreadable file...). */
export class InvalidInputError extends BenchmarkError {
  constructor(message: string) {
    super(400, 'invalid_request_error', message, false, { code: 'invalid_benchmark_input' });
  }
}

/** The target server could not be reached or answered every request with an error. */
export class TargetUnavailableError extends BenchmarkError {
  constructor(message: string) {
    super(502, 'upstream_error', message, true, { code: 'target_unavailable' });
  }
}

/** Turns a zod error into one line naming the path, e.g. `mode.rate: Number must be greater than 0`. */
export function describeZodIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');
}
