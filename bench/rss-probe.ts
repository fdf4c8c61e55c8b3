// `node --import …/rss-probe.js <script>`: on exit, writes the process's peak RSS and CPU time to $SLACK_ETL_BENCH_PROBE (a JSON line).
// Lets the benchmark measure a child it did not write (the CLI) without changing it.

import { appendFileSync } from 'node:fs';

const target = process.env.SLACK_ETL_BENCH_PROBE;
const started = performance.now();
const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
/** Largest V8 heap and off-heap (Buffers, ArrayBuffers) seen, sampled: where the peak RSS went. */
const largest = { heapTotal: 0, heapUsed: 0, external: 0 };
if (target) {
  setInterval(() => {
    const usage = process.memoryUsage();
    largest.heapTotal = Math.max(largest.heapTotal, usage.heapTotal);
    largest.heapUsed = Math.max(largest.heapUsed, usage.heapUsed);
    largest.external = Math.max(largest.external, usage.external + usage.arrayBuffers);
  }, 100).unref();
  process.on('exit', (code) => {
    const usage = process.resourceUsage();
    const line = {
      code,
      peakRssMb: Math.round((usage.maxRSS / 1024) * 10) / 10,
      cpuSeconds: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1e4) / 100,
      seconds: Math.round(performance.now() - started) / 1000,
      heapTotalMb: mb(largest.heapTotal),
      heapUsedMb: mb(largest.heapUsed),
      externalMb: mb(largest.external),
    };
    appendFileSync(target, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  });
}
