// Retrieval's errors, as members of the project's one error tree (core/errors.ts), so the HTTP layer renders them
// as OpenAI error JSON with the right status.
import { InvalidRequestError, NotFoundError, SwitchyardError, type ErrorOptions } from '../core/errors.ts';

export { InvalidRequestError, NotFoundError, SwitchyardError };

/** A model's files are missing (offline mode, or no hub access) or cannot be loaded. */
export class ModelUnavailableError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(503, 'service_unavailable', message, false, { code: 'model_unavailable', ...options });
  }
}

/** An index directory is corrupt, truncated, from another format version, or inconsistent with its manifest. */
export class IndexCorruptError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(500, 'server_error', message, false, { code: 'index_corrupt', ...options });
  }
}

/** Another process holds the index's write lock. */
export class IndexLockedError extends SwitchyardError {
  constructor(message: string, options: ErrorOptions = {}) {
    super(409, 'conflict', message, true, { code: 'index_locked', ...options });
  }
}
