// deploy/'s branch of the one error tree (core/errors.ts): failures carry an HTTP status and whether retrying can help.
import { InvalidRequestError, SwitchyardError } from '../core/errors.ts';

/** Bad deploy configuration or CLI input: a 400 that names what is wrong. */
export class DeployConfigError extends InvalidRequestError {
  constructor(message: string, param: string | null = null) {
    super(message, { code: 'invalid_deploy_config', param });
  }
}

/** GPU bookkeeping refused a request (too many GPUs asked for, double claim, cancelled wait). */
export class InventoryError extends SwitchyardError {
  constructor(message: string) {
    super(409, 'deploy_error', message, false, { code: 'gpu_inventory' });
  }
}

/** A replica could not be started or never became healthy; another attempt may succeed. */
export class ReplicaStartError extends SwitchyardError {
  readonly replicaId: string;
  constructor(replicaId: string, message: string, cause?: unknown) {
    super(503, 'deploy_error', message, true, { code: 'replica_start_failed', cause });
    this.replicaId = replicaId;
  }
}

/** The container engine (dockerd) or a required tool is not reachable. */
export class DriverUnavailableError extends SwitchyardError {
  constructor(message: string, cause?: unknown) {
    super(503, 'deploy_error', message, true, { code: 'driver_unavailable', cause });
  }
}
