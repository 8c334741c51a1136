/**
 * Frees relayed body chunks while they are still young, so streaming does not run on major GCs.
 *
 * Every socket read (the upstream's response) and every request-body chunk Node's HTTP parser
 * copies becomes a new off-heap Buffer. The JavaScript objects that hold them are small, so the
 * young generation fills slowly and scavenges are rare. The off-heap bytes pile up instead, and V8
 * answers external-memory pressure with a mark-compact of the whole heap: at several hundred MB/s
 * one every ~50 ms, each one marking the gateway's ~17 MB of modules on the same core. Measured
 * with `--trace-gc` on a gateway child, 3 × 100 MB each way: 16–19 mark-compacts without hints, 1
 * with them (docs/performance.md, "Third session: young-generation GC hints").
 *
 * A scavenge frees the chunks that were already written (they are young and unreferenced) at a
 * cost of well under a millisecond, because it visits only live young objects. So after every
 * `everyBytes` relayed, one minor GC is asked for, on the next turn of the event loop so it never
 * runs inside undici's parser callbacks.
 *
 * A minor GC asked for while V8 is finishing an incremental marking cycle finalizes that cycle, so
 * a hint landing then becomes a mark-compact. When mark-compacts happen anyway (something else
 * is filling the old generation), hints could fall into that rhythm and add to them; so a hint is
 * skipped whenever a major GC ran since the previous one, which leaves the process no worse off
 * than without hints.
 *
 * V8 offers no API for a minor GC other than the `gc()` function `--expose-gc` installs. The flag
 * is set at run time (`v8.setFlagsFromString`) and `gc` is taken from a fresh `vm` context, the
 * usual way to reach it without a command-line flag; it is not put on this process's global
 * object.
 */
import { constants, PerformanceObserver, type PerformanceObserverEntryList } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options: { type: 'minor' | 'major' }) => void;

/** Default bytes relayed between two hints: about 10 ms of a fast stream on one core. */
export const DEFAULT_RECLAIM_EVERY_BYTES = 8 * 1024 * 1024;

let gc: GcFunction | undefined;
let everyBytes = 0;
let sinceLast = 0;
let scheduled = false;
let hints = 0;
let skipped = 0;
let majors = 0;
let majorsAtLastHint = 0;
let observer: PerformanceObserver | undefined;

function countMajors(list: PerformanceObserverEntryList): void {
  for (const entry of list.getEntries()) {
    const { detail } = entry as { detail?: { kind?: number } };
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors += 1;
  }
}

function minorGc(): void {
  // What was relayed up to now is what this scavenge can free.
  sinceLast = 0;
  scheduled = false;
  if (majors !== majorsAtLastHint) {
    majorsAtLastHint = majors;
    skipped += 1;
    return;
  }
  hints += 1;
  gc?.({ type: 'minor' });
}

/**
 * Turns the hints on (every `bytes` relayed) or off (`0`). Returns false when this runtime does
 * not let us ask for a minor GC, in which case nothing changes.
 */
export function configureBufferReclaim(bytes: number): boolean {
  if (bytes <= 0) {
    everyBytes = 0;
    observer?.disconnect();
    observer = undefined;
    return true;
  }
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as GcFunction;
    } catch {
      return false;
    }
    if (typeof gc !== 'function') {
      gc = undefined;
      return false;
    }
  }
  if (observer === undefined) {
    observer = new PerformanceObserver(countMajors);
    observer.observe({ entryTypes: ['gc'] });
  }
  everyBytes = bytes;
  sinceLast = 0;
  return true;
}

/** Counts body bytes just relayed, either way; asks for a minor GC past the threshold. */
export function noteRelayedBytes(bytes: number): void {
  if (everyBytes === 0) return;
  sinceLast += bytes;
  if (sinceLast < everyBytes || scheduled) return;
  scheduled = true;
  setImmediate(minorGc);
}

/** Minor GCs asked for so far, and hints skipped because a major GC had just run (for tests). */
export function reclaimHints(): number {
  return hints;
}

/** Hints skipped because a major GC ran since the previous one. */
export function reclaimHintsSkipped(): number {
  return skipped;
}
