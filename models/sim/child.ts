// Entry point of a replica in its own process (`isolation: 'process'`): receives its options over IPC, starts the
// in-process replica, reports the port, and dies for real on a crash fault.
import { startInProcessReplica } from './replica.ts';
import type { SimReplicaOptions } from './options.ts';

export interface ChildReady {
  type: 'ready';
  port: number;
  url: string;
  servedModelName: string;
  totalBlocks: number;
  maxModelLen: number;
}
export interface ChildFailed {
  type: 'failed';
  message: string;
}

// The parent went away (exit, crash or signal: the IPC channel closes with it): never outlive it, even while starting.
let stopReplica: (() => void) | undefined;
process.once('disconnect', () => (stopReplica ? stopReplica() : process.exit(0)));

process.once('message', (message: unknown) => {
  const options = message as SimReplicaOptions;
  startInProcessReplica({ ...options, isolation: 'in-process' }, () => process.kill(process.pid, 'SIGKILL')).then(
    (replica) => {
      const ready: ChildReady = {
        type: 'ready',
        port: replica.port,
        url: replica.url,
        servedModelName: replica.servedModelName,
        totalBlocks: replica.totalBlocks,
        maxModelLen: replica.maxModelLen,
      };
      process.send?.(ready);
      const stop = (): void => {
        // Open streams are cut by close(); a close that still hangs does not keep the process.
        setTimeout(() => process.exit(0), 5_000).unref();
        void replica.close().then(() => process.exit(0));
      };
      stopReplica = stop;
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      if (!process.connected) stop();
    },
    (error: unknown) => {
      const failed: ChildFailed = { type: 'failed', message: error instanceof Error ? error.message : String(error) };
      process.send?.(failed, () => process.exit(1));
    },
  );
});
