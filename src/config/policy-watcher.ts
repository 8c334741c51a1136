/**
 * Hot reload: when the policies directory changes, load the whole set again and, only if it is
 * valid, hand it over to be swapped in atomically. A broken edit is logged with its
 * `file:line:col` problems and the running set stays in force, so a typo never opens or closes a
 * route by accident. Kubernetes updates a mounted ConfigMap by swapping the `..data` symlink in the
 * directory; inotify reports that as a change in the directory itself, which fs.watch sees.
 */
import { watch, type FSWatcher } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { loadPolicies, type PolicySet } from './policy-loader.ts';

export interface PolicyWatcher {
  close(): void;
}

/** Debounce for bursts of events (an editor's save, a ConfigMap swap), in milliseconds. */
const DEBOUNCE_MS = 250;

export function watchPolicies(
  dir: string,
  defaults: Parameters<typeof loadPolicies>[1],
  logger: Logger,
  apply: (next: PolicySet) => void,
): PolicyWatcher {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;

  const reload = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const next = await loadPolicies(dir, defaults);
      apply(next);
      logger.info({ routes: next.routes.length, files: next.files.length }, 'policies reloaded');
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String(err)];
      logger.error({ problems }, 'policy reload refused; the previous policies stay in force');
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };

  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), DEBOUNCE_MS);
  }

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, schedule);
    watcher.on('error', (err) => logger.warn({ err }, 'policy directory watch failed; reload disabled'));
  } catch (err) {
    logger.warn({ err, dir }, 'cannot watch the policy directory; reload disabled');
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
