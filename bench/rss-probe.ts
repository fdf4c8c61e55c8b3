// `node --import …/rss-probe.js <script>`: on exit, writes the process's peak RSS and CPU time to $SLACK_ETL_BENCH_PROBE (a JSON line).
// Lets the benchmark measure a child it did not write (the CLI) without changing it.

import { appendFileSync } from 'node:fs';

const target = process.env.SLACK_ETL_BENCH_PROBE;
const started = performance.now();
if (target) {
  process.on('exit', (code) => {
    const usage = process.resourceUsage();
    const line = {
      code,
      peakRssMb: Math.round((usage.maxRSS / 1024) * 10) / 10,
      cpuSeconds: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1e4) / 100,
      seconds: Math.round(performance.now() - started) / 1000,
    };
    appendFileSync(target, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  });
}
