// `slack-etl demo`: serves the bundled sample workspace on loopback and exports it to NDJSON.

import { generateWorkspace } from '../../../fixtures/slack-api/generator.js';
import { ALL_SCOPES, startFakeSlack } from '../../../fixtures/slack-api/server.js';
import { checkNdjsonTarget, ndjsonSink } from '../../sinks/ndjson.js';
import { runSlackJob, type CliIo } from '../job.js';
import type { CliConfig } from '../options.js';

const demoToken = 'xoxb-demo-token';
/** The fake's tiers run 600× faster than Slack's, and we pace to match: the demo shows pacing without the wait. */
const demoRateScale = 600;

export async function runDemo(config: CliConfig, io: CliIo): Promise<number> {
  const out = config.out ?? 'slack-demo.ndjson';
  await checkNdjsonTarget(out);
  const workspace = generateWorkspace({ size: 'small', seed: 1 });
  const fake = await startFakeSlack({ workspace, tokens: { [demoToken]: { scopes: [...ALL_SCOPES] } }, rateScale: demoRateScale });
  try {
    if (!config.quiet) io.stderr.write(`demo: sample workspace '${workspace.team.name}' served at ${fake.url}\n`);
    const code = await runSlackJob({
      config: {
        ...config,
        token: demoToken,
        slackApiUrl: fake.url,
        fetchLastNDays: 0,
        autoJoinChannels: true,
        channelTypes: ['public', 'private', 'im', 'mpim'],
        tierRates: { tier1: demoRateScale, tier2: 20 * demoRateScale, tier3: 50 * demoRateScale, tier4: 100 * demoRateScale },
      },
      io,
      preflight: async () => {},
      sink: ndjsonSink({ path: out, stdout: io.stdout }),
      verb: 'exported',
      destination: out === '-' ? 'stdout' : out,
      now: workspace.now * 1000,
    });
    if (code === 0 && out !== '-' && !config.quiet) io.stderr.write(`demo: output written to ${out} (try: head -3 ${out})\n`);
    return code;
  } finally {
    await fake.close();
  }
}
