// Chaos suite, npm-test part: the small workspace exported and synced under heavy injected faults equals a clean run.

import t from 'tap';
import { generateWorkspace } from '../../fixtures/slack-api/generator.js';
import { expectedIds } from '../../fixtures/slack-api/ground-truth.js';
import {
  assertSurvived,
  defaultChaosOptions,
  parseRunnerArguments,
  runOnce,
  type ChaosOptions,
  type ChaosRun,
  type SinkKind,
} from './run-chaos.js';
import { temporaryDirectory } from '../helpers/slack.js';

// Half the small workspace's messages (every conversation kind, threads, files) still make ~100 Slack calls: rates above the
// defaults give every seed dozens of faults.
const options = (directory: string): Omit<ChaosOptions, 'seed'> => ({
  ...defaultChaosOptions,
  size: 'small',
  messageCount: 1_000,
  slackRate: 0.25,
  elasticsearch: { itemRate429: 0.1, requestRate429: 0.1, requestRate503: 0.1, dropConnectionRate: 0.1 },
  directory,
});

// One clean reference run for the file: every chaos run is compared with it.
let cleanRun: Promise<ChaosRun> | undefined;
const cleanReference = (settings: Omit<ChaosOptions, 'seed'>): Promise<ChaosRun> =>
  (cleanRun ??= runOnce({ ...settings, seed: 0 }, 'ndjson', false));

t.test('the clean reference run equals the workspace ground truth', async (t) => {
  const settings = options(await temporaryDirectory(t));
  const clean = await cleanReference(settings);
  const workspace = generateWorkspace({ size: settings.size, seed: settings.workspaceSeed, messageCount: settings.messageCount });
  const truth = expectedIds(workspace, {
    now: workspace.now,
    fetchLastNDays: 0,
    threads: true,
    syncUsers: true,
    autoJoinChannels: true,
    channelTypes: ['public', 'private', 'im', 'mpim'],
  });
  t.strictSame([...clean.output.hashes.keys()].sort(), [...truth.all].sort());
  t.match(clean.summary, 'faults survived: 0 (Slack 429s 0 · Slack retries 0 (timeouts 0))', 'nothing to survive without faults');
});

t.test('under 25% Slack faults and 10% Elasticsearch faults, seeds 1–3 export and sync exactly the clean run’s documents', async (t) => {
  const settings = options(await temporaryDirectory(t));
  const clean = await cleanReference(settings);
  for (const seed of [1, 2, 3]) {
    for (const sink of ['ndjson', 'elasticsearch'] as SinkKind[]) {
      const run = await runOnce({ ...settings, seed }, sink, true);
      assertSurvived(t, clean, run, settings);
    }
  }
});

t.test('the standalone chaos runner reads seeds, rates, size and sink, and rejects bad values with one line', async (t) => {
  const parsed = parseRunnerArguments(['--seed', '3,4', '--rate', '0.2', '--size', 'small', '--sink', 'ndjson']);
  t.strictSame(parsed.seeds, [3, 4]);
  t.equal(parsed.options.slackRate, 0.2);
  t.equal(
    parsed.options.elasticsearch.itemRate429,
    defaultChaosOptions.elasticsearch.itemRate429,
    'Elasticsearch rates keep their default',
  );
  t.equal(parseRunnerArguments(['--es-rate', '0.15', '--es-retries', '9']).options.elasticsearchRetries, 9);
  t.strictSame(parsed.sinks, ['ndjson']);
  t.strictSame(parseRunnerArguments([]).sinks, ['ndjson', 'elasticsearch']);
  t.throws(() => parseRunnerArguments(['--rate', '1.5']), /--rate must be a probability below 1, got '1.5'/);
  t.throws(() => parseRunnerArguments(['--seed', 'x']), /--seed must be whole numbers/);
  t.throws(() => parseRunnerArguments(['--size', 'huge']), /--size must be small, medium or large/);
  t.throws(() => parseRunnerArguments(['--es-retries=-1']), /--es-retries must be a whole number/);
});
