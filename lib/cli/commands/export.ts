// `slack-etl export`: Slack (API or archive) → NDJSON, an Elasticsearch _bulk body, Singer messages or a Slack export (file or stdout).

import { checkNdjsonTarget, ndjsonSink } from '../../sinks/ndjson.js';
import { esBulkSink } from '../../sinks/es-bulk.js';
import { singerSink, singerStateValue } from '../../sinks/singer.js';
import { checkSlackExportTarget, slackExportSink } from '../../sinks/slack-export.js';
import { runSlackJob, type CliIo, type JobPlan } from '../job.js';
import type { CliConfig } from '../options.js';

export async function runExport(config: CliConfig, io: CliIo): Promise<number> {
  const out = config.out ?? '-';
  const file = { path: out, stdout: io.stdout };
  const common = { config, io, verb: 'exported', destination: out === '-' ? 'stdout' : out };
  const plans: Record<CliConfig['format'], () => JobPlan> = {
    ndjson: () => ({ ...common, preflight: () => checkNdjsonTarget(out), sink: ndjsonSink(file) }),
    'es-bulk': () => ({ ...common, preflight: () => checkNdjsonTarget(out), sink: esBulkSink({ ...file, index: config.index }) }),
    singer: () => ({
      ...common,
      preflight: () => checkNdjsonTarget(out),
      needsState: true,
      sink: singerSink(file),
      sinkFor: ({ state, settleState }) =>
        singerSink({
          ...file,
          finalState: () => {
            settleState();
            return singerStateValue(state!.toJSON());
          },
        }),
    }),
    'slack-export': () => ({
      ...common,
      preflight: () => checkSlackExportTarget(config.out),
      keepSlackObjects: true,
      // Day files are written one after the other per channel: each channel's messages as one block in ts order.
      channelBlocks: true,
      sink: slackExportSink({ path: out }),
      sinkFor: ({ team, lookedUpUsers }) => slackExportSink({ path: out, selfUserId: team.userId, extraUsers: lookedUpUsers }),
    }),
  };
  return runSlackJob(plans[config.format]());
}
