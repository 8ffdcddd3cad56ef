// Errors the benchmark tools raise for bad input. The CLI prints `message` and exits non-zero; nothing here is a crash.
export class BenchmarkError extends Error {
  readonly status: number;
  readonly retryable: boolean;
  constructor(message: string, status = 400, retryable = false) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.retryable = retryable;
  }
}

/** A flag, file or config value is invalid (unknown model, negative rate, unreadable file...). */
export class InvalidInputError extends BenchmarkError {}

/** The target server could not be reached or answered every request with an error. */
export class TargetUnavailableError extends BenchmarkError {
  constructor(message: string) {
    super(message, 502, true);
  }
}

/** Turns a zod error into one line naming the path, e.g. `mode.rate: Number must be greater than 0`. */
export function describeZodIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');
}
