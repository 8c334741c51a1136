/**
 * CPU placement, as in bench-peers: the load generator, the fixture and this driver share core 0;
 * the gateway has core 1 to itself, so its req/s is what one core of gateway can do and `direct`
 * is the harness's own ceiling. Without `taskset` or with one core, everything runs unpinned and
 * the report says so.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface CpuPlan {
  /** taskset CPU list for wrk, the fixture and the driver; undefined = unpinned. */
  readonly loadgen: string | undefined;
  /** taskset CPU list for the gateway; undefined = unpinned. */
  readonly gateway: string | undefined;
  readonly note: string;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Core 0 for the harness and core 1 for the gateway when possible. */
export function planCpus(): CpuPlan {
  const cores = availableParallelism();
  if (cores < 2) return { loadgen: undefined, gateway: undefined, note: 'unpinned: only one core' };
  if (!hasTaskset()) return { loadgen: undefined, gateway: undefined, note: 'unpinned: taskset not found' };
  return {
    loadgen: '0',
    gateway: '1',
    note: 'load generator + fixture + driver + log reader on core 0, gateway alone on core 1 (its log into a pipe)',
  };
}

/** `command args` prefixed with `taskset -c cpu` when a CPU list is given. */
export function pinned(
  cpu: string | undefined,
  command: string,
  args: readonly string[],
): [string, string[]] {
  return cpu === undefined ? [command, [...args]] : ['taskset', ['-c', cpu, command, ...args]];
}

/**
 * Moves every thread of this process to `cpu`; children started later inherit it. It is tried
 * again before giving up: `taskset -a` failed once here right after the build step, and a thread
 * exiting between taskset's listing of the threads and its move fails it that way.
 */
export function pinSelf(cpu: string | undefined, attempts = 3): void {
  if (cpu === undefined) return;
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)], { stdio: 'ignore' });
      return;
    } catch (error) {
      if (attempt >= attempts) {
        throw new Error(
          `could not pin the bench driver to CPU ${cpu} (taskset -a -p failed ${attempts} times)`,
          {
            cause: error,
          },
        );
      }
    }
  }
}
