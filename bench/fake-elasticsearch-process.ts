// The fake Elasticsearch in its own process for figure 3, so its parsing does not share a core's time slices with the client being measured.
// Prints `{"url": …}` on start; answers each `stats` line on stdin with its counters; exits when stdin closes.

import { createInterface } from 'node:readline';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';

const server = await startFakeElasticsearch();
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'stats') process.stdout.write(`${JSON.stringify(server.stats())}\n`);
});
lines.on('close', () => {
  void server.close().then(() => process.exit(0));
});
