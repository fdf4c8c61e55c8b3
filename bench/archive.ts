// Figure: a Slack export ZIP read by slackArchiveSource through enrich → dedupe → NDJSON file (docs/s, peak RSS); `--generate` writes the
// archive.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorkspace } from '../fixtures/slack-api/generator.js';
import { writeSlackArchiveFixture } from '../fixtures/slack-archive/writer.js';
import { pipeline } from '../lib/pipeline.js';
import { ndjsonSink } from '../lib/sinks/ndjson.js';
import { slackArchiveSource } from '../lib/sources/archive/source.js';
import { dedupe } from '../lib/transforms/dedupe.js';
import { enrich } from '../lib/transforms/enrich.js';
import { figureArguments, reportResult, round, rssMb } from './common.js';

const { values } = figureArguments({ archive: { type: 'string' }, messages: { type: 'string' }, generate: { type: 'boolean' } });
const archivePath = String(values.archive);

if (values.generate) {
  // Its own process: the generated workspace is held in memory, the reading figure must not pay for it.
  const messageCount = Number(values.messages ?? 50_000);
  const workspace = generateWorkspace({ size: 'medium', seed: 11, messageCount, channelCount: 30, userCount: 300 });
  await writeSlackArchiveFixture(workspace, { path: archivePath });
  reportResult({ messages: messageCount, archiveBytes: (await stat(archivePath)).size });
} else {
  const baselineRssMb = rssMb();
  const directory = await mkdtemp(join(tmpdir(), 'slack-etl-bench-archive-'));
  try {
    const source = slackArchiveSource({ path: archivePath, workspaceUrl: 'https://acme-corp.slack.com/' });
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const stats = await pipeline(
      source,
      enrich({ lookupUser: (id) => source.lookupUser(id) }),
      dedupe(),
      ndjsonSink({ path: join(directory, 'out.ndjson') }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    const documents = Object.values(stats.documents).reduce((sum, count) => sum + count, 0);
    reportResult({
      documents,
      seconds: round(seconds),
      documentsPerSecond: Math.round(documents / seconds),
      cpuSeconds: round((cpu.user + cpu.system) / 1e6),
      dayFiles: stats.source.dayFilesRead,
      archiveBytes: (await stat(archivePath)).size,
      baselineRssMb,
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
