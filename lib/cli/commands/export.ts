// `slack-etl export`: Slack → NDJSON file or stdout.

import { checkNdjsonTarget, ndjsonSink } from '../../sinks/ndjson.js';
import { runSlackJob, type CliIo } from '../job.js';
import type { CliConfig } from '../options.js';

export async function runExport(config: CliConfig, io: CliIo): Promise<number> {
  const out = config.out ?? '-';
  return runSlackJob({
    config,
    io,
    preflight: () => checkNdjsonTarget(out),
    sink: ndjsonSink({ path: out, stdout: io.stdout }),
    verb: 'exported',
    destination: out === '-' ? 'stdout' : out,
  });
}
