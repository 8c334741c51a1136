/**
 * Resource use of the gateway process from /proc (Linux): resident set size sampled while a
 * scenario runs (its peak is what a memory limit must cover) and CPU time over the scenario (so a
 * request's cost is CPU-microseconds, which holds even when the gateway is not saturated).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Resident set size in bytes, or undefined when /proc is not there. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds the process has used, or undefined without /proc. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at index 2 of `stat(5)`.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

export interface Usage {
  /** Highest RSS seen, bytes. */
  readonly peakRss: number | undefined;
  /** RSS when sampling started, bytes. */
  readonly startRss: number | undefined;
  /** CPU seconds used per wall second (1 = one core busy). */
  readonly cpu: number | undefined;
  readonly cpuSeconds: number | undefined;
}

/** Samples `pid` every `intervalMs` (default 50) until `stop()` is called. */
export function sampleUsage(pid: number, intervalMs = 50): { stop(): Usage } {
  const startRss = rssBytes(pid);
  const startCpu = cpuSeconds(pid);
  const startedAt = performance.now();
  let peak = startRss;
  const timer = setInterval(() => {
    const rss = rssBytes(pid);
    if (rss !== undefined && (peak === undefined || rss > peak)) peak = rss;
  }, intervalMs);
  return {
    stop(): Usage {
      clearInterval(timer);
      const rss = rssBytes(pid);
      if (rss !== undefined && (peak === undefined || rss > peak)) peak = rss;
      const endCpu = cpuSeconds(pid);
      const used = startCpu === undefined || endCpu === undefined ? undefined : endCpu - startCpu;
      const wall = (performance.now() - startedAt) / 1000;
      return { peakRss: peak, startRss, cpu: used === undefined ? undefined : used / wall, cpuSeconds: used };
    },
  };
}
