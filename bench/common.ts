// Shared pieces of the benchmark figures: result hand-off to bench/run.ts, timing, and memory readings.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Each figure process prints exactly one line starting with this marker, followed by its JSON result. */
export const resultMarker = 'BENCH_RESULT ';

export interface FigureArguments {
  quick: boolean;
  values: Record<string, string | boolean | undefined>;
}

export function figureArguments(extra: Record<string, { type: 'string' | 'boolean' }> = {}): FigureArguments {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, ...extra }, allowPositionals: false });
  return { quick: values.quick === true, values };
}

/** Peak resident set size of this process so far, in MB (`maxRSS` is reported in kilobytes). */
export const peakRssMb = (): number => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
export const rssMb = (): number => Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;

export function reportResult(result: object): void {
  process.stdout.write(`${resultMarker}${JSON.stringify({ ...result, peakRssMb: peakRssMb() })}\n`);
}

export const round = (value: number, digits = 2): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

export const median = (values: number[]): number => {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Median and [min, max] of per-round values, rounded for the report. */
export const medianAndSpread = (values: number[], digits = 3): { median: number; spread: [number, number] } => ({
  median: round(median(values), digits),
  spread: [round(Math.min(...values), digits), round(Math.max(...values), digits)],
});

/** CPU seconds (user + system, every thread of the process) since `since`. */
export const cpuSecondsSince = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

/**
 * CPU seconds of this process's main thread alone (Linux: /proc/self/task/<pid>/stat, in clock ticks of 10 ms), or
 * undefined elsewhere: with a worker thread, what the main thread still does is what bounds the speed on two cores.
 */
export function mainThreadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime) are the 12th and 13th after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
