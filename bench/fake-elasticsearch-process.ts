// The fake Elasticsearch in its own process for figure 3, so its parsing does not share time slices with the client being measured.
// Prints `{"url": …}` on start; answers each `stats` line on stdin with its counters and its CPU time; exits when stdin closes.

import { createInterface } from 'node:readline';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';

const server = await startFakeElasticsearch();
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'stats') return;
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ ...server.stats(), cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
});
lines.on('close', () => {
  void server.close().then(() => process.exit(0));
});
