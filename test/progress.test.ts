// Progress and summary on stderr: log lines every --progress-interval when not a terminal, JSON with --log-format json,
// one live line on a terminal with warnings above it.

import t from 'tap';
import { Writable } from 'node:stream';
import { main } from '../lib/cli/main.js';
import { parseNdjson, startWorkspace, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

// 250 ms per Slack call: even 600 messages take a few seconds, long enough for progress lines every second.
const slowTierRates = '1200,3000,6000';
const slowSlack = { latencyMs: 250 };
const fewMessages = { messageCount: 600 };

t.test('not a terminal: a text progress line every --progress-interval, then the summary with the window', async (t) => {
  const { slack, nowMs } = await startWorkspace(t, fewMessages, slowSlack);
  const result = await runCliInProcess(['export', '--tier-rates', slowTierRates, '--progress-interval', '1', '--since', '90d'], {
    env: { SLACK_TOKEN: testToken, SLACK_API_URL: slack.url, SLACK_ETL_NOW: String(nowMs) },
  });
  t.equal(result.code, 0, result.stderr);
  const lines = result.stderr.trim().split('\n');
  const progress = lines.filter((line) => line.startsWith('progress: '));
  t.ok(progress.length >= 1, `${progress.length} progress lines`);
  for (const line of progress) {
    t.match(
      line,
      /^progress: \d+[smh].* · [\d,]+ documents \([\d,]+\/s\) · (channels \d+\/\d+ · )?(replies [\d,]+\/[\d,]+ · )?API calls [\d,]+/,
      'elapsed, documents, rate, channels, API calls',
    );
  }
  t.notOk(result.stderr.includes('\r'), 'no terminal control characters in a log');
  t.match(
    result.stderr,
    new RegExp(`window: ${new Date(nowMs - 90 * 86_400_000).toISOString().slice(0, 16)}.* → now`),
    'the summary names the effective window',
  );
});

t.test('--log-format json: progress objects and a summary object carrying the counters', async (t) => {
  const { slack, nowMs } = await startWorkspace(t, fewMessages, slowSlack);
  const result = await runCliInProcess(
    ['export', '--tier-rates', slowTierRates, '--progress-interval', '1', '--log-format', 'json', '--until', '10d'],
    {
      env: { SLACK_TOKEN: testToken, SLACK_API_URL: slack.url, SLACK_ETL_NOW: String(nowMs) },
    },
  );
  t.equal(result.code, 0, result.stderr);
  const events = parseNdjson(result.stderr);
  t.ok(events.length >= 2, 'every stderr line is a JSON object');
  const progress = events.filter((event) => event.event === 'progress');
  t.ok(progress.length >= 1, `${progress.length} progress objects`);
  for (const event of progress) {
    for (const field of [
      'elapsedSeconds',
      'documents',
      'documentsPerSecond',
      'channelsDone',
      'apiCalls',
      'repliesRead',
      'repliesExpected',
      'messagesRead',
    ]) {
      t.type(event[field], 'number', `progress.${field}`);
    }
    t.ok(Array.isArray(event.reading));
  }
  const last = progress.at(-1)!;
  const summary = events.at(-1)!;
  t.equal(summary.event, 'summary', 'the summary comes last');
  const written = parseNdjson(result.stdout);
  t.equal(summary.totalDocuments, written.length, 'summary total = documents written');
  t.equal(summary.documents.message, written.filter((document) => document.type === 'message').length);
  t.ok(summary.slack.calls >= last.apiCalls && summary.slack.callsByMethod['conversations.history'] > 0, 'API calls carried');
  t.equal(summary.source.channelsRead, last.channelsSelected, 'channels read = channels selected');
  t.strictSame(
    summary.window,
    { since: null, until: new Date(nowMs - 10 * 86_400_000).toISOString() },
    '--until alone: all history before it',
  );
});

t.test('on a terminal: one line redrawn in place, warnings printed above it, the line cleared before the summary', async (t) => {
  const { workspace, slack, nowMs } = await startWorkspace(t, fewMessages, slowSlack);
  const member = workspace.channels.find(
    (channel) => channel.botIsMember && !channel.info.is_private && !channel.info.is_im && !channel.info.is_mpim,
  )!;
  let stderr = '';
  const stdout = new Writable({ write: (_chunk, _encoding, done) => done() });
  const terminal = Object.assign(new Writable({ write: (chunk, _encoding, done) => ((stderr += String(chunk)), done()) }), {
    columns: 100,
  });
  const code = await main(
    ['export', '--tier-rates', slowTierRates, '--fetch-last-n-days', '0', '--channels', `#${member.info.name},#no-such-channel`],
    {
      stdout,
      stderr: terminal,
      env: { SLACK_TOKEN: testToken, SLACK_API_URL: slack.url, SLACK_ETL_NOW: String(nowMs) },
      stderrIsTTY: true,
    },
  );
  t.equal(code, 0, stderr);
  const redraws = stderr.split('\r\x1b[K');
  t.ok(redraws.length > 2, `the line was drawn ${redraws.length - 1} times`);
  const drawn = redraws.map((segment) => segment.split('\n')[0]!).filter((text) => / · API calls /.test(text));
  t.ok(drawn.length > 0 && drawn.every((text) => text.length <= 99), 'each drawing fits the terminal width');
  t.ok(
    drawn.some((text) => /channels \d\/1/.test(text)),
    'channels done / selected',
  );
  const warning = stderr.split('\n').find((line) => line.includes("channel 'no-such-channel'"));
  t.ok(warning, 'the warning is printed');
  t.match(
    warning!.split('\r\x1b[K').at(-1),
    /^warn: channel 'no-such-channel' given in --channels was not found/,
    'the warning starts its own line, after the live line was cleared',
  );
  t.ok(
    redraws.some((segment) => /^exported [\d,]+ documents/.test(segment)),
    'the live line is cleared before the summary',
  );
});
