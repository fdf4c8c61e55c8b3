// Output and state files: 0600, never through a planted symlink, a finished export never replaced, resumes checked, checkpoints on a timer.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { chmod, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ndjsonSink, type NdjsonCheckpoint } from '../lib/sinks/ndjson.js';
import { writeStateFile, emptyState } from '../lib/state/state-file.js';
import {
  childEnvironment,
  nodeCommand,
  parseNdjson,
  runCli,
  scaledTierRatesFlag,
  startWorkspace,
  temporaryDirectory,
  testToken,
} from './helpers/slack.js';
import { binPath } from './helpers/paths.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** Most tests need a few hundred documents, not the small workspace's 2,000; the killed export keeps them, to be killed mid-run. */
async function setup(t: Test, messageCount = 400) {
  const { slack, nowMs, workspace } = await startWorkspace(t, { messageCount });
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const common = ['export', '--slack-api-url', slack.url, '--tier-rates', scaledTierRatesFlag, '--fetch-last-n-days', '0', '--quiet'];
  return { slack, workspace, directory, env, common };
}

t.test('exports, partial and state files are 0600; a replaced export keeps its mode', async (t) => {
  const { directory, env, common } = await setup(t);
  const previousUmask = process.umask(0o022);
  t.teardown(() => void process.umask(previousUmask));
  const result = await runCli([...common, '--state', join(directory, 'state.json'), '--out', join(directory, 'out.ndjson')], { env });
  t.equal(result.code, 0, result.stderr);
  t.equal(await modeOf(join(directory, 'out.ndjson')), 0o600, 'the export');
  t.equal(await modeOf(join(directory, 'state.json')), 0o600, 'the state');
  const gz = await runCliInProcess([...common, '--out', join(directory, 'out.ndjson.gz')], { env });
  t.equal(gz.code, 0, gz.stderr);
  t.equal(await modeOf(join(directory, 'out.ndjson.gz')), 0o600, 'a gzip export');
  await chmod(join(directory, 'out.ndjson.gz'), 0o640);
  const again = await runCliInProcess([...common, '--out', join(directory, 'out.ndjson.gz')], { env });
  t.equal(again.code, 0, again.stderr);
  t.equal(await modeOf(join(directory, 'out.ndjson.gz')), 0o640, 'replacing a file keeps the mode its owner chose');
});

t.test('a planted symlink at the partial file or the state’s temporary file is never written through', async (t) => {
  const { directory, env, common } = await setup(t);
  const victim = join(directory, 'victim.txt');
  await writeFile(victim, 'precious\n');
  await symlink(victim, join(directory, '.out.ndjson.slack-etl-partial'));
  const result = await runCliInProcess([...common, '--state', join(directory, 'state.json'), '--out', join(directory, 'out.ndjson')], {
    env,
  });
  t.equal(result.code, 0, result.stderr);
  t.equal(await readFile(victim, 'utf8'), 'precious\n', 'the link’s target is untouched');
  t.ok(parseNdjson(await readFile(join(directory, 'out.ndjson'), 'utf8')).length > 100, 'the export was written to its own file');

  // The state's temporary name of this process, planted: the save must not follow it.
  const statePath = join(directory, 'library-state.json');
  await symlink(victim, join(directory, `.library-state.json.${process.pid}.tmp`));
  await writeStateFile(statePath, emptyState());
  t.equal(await readFile(victim, 'utf8'), 'precious\n', 'the state save did not write through the link');
  t.equal(JSON.parse(await readFile(statePath, 'utf8')).format, 'slack-etl-state');
});

t.test('resume accepts only the partial file it wrote: a symlink in its place, or a missing one, is exit 2', async (t) => {
  const { directory, env, common } = await setup(t);
  const statePath = join(directory, 'state.json');
  const out = join(directory, 'out.ndjson');
  const partialPath = join(directory, '.out.ndjson.slack-etl-partial');
  const state = { ...emptyState(), run: { path: out, partialPath, committedBytes: 10 } };
  await writeFile(statePath, JSON.stringify(state));
  const stateText = await readFile(statePath, 'utf8');
  const args = [...common, '--state', statePath, '--out', out];

  const missing = await runCliInProcess(args, { env });
  t.equal(missing.code, 2, 'a missing partial file is an error, not a warning');
  t.match(
    missing.stderr,
    /records an unfinished export to .*out\.ndjson, but its partial file .*\.out\.ndjson\.slack-etl-partial is gone .* — restore .* and run the same command again, or delete .*state\.json to start over/,
  );

  const victim = join(directory, 'victim.txt');
  await writeFile(victim, 'precious line\n');
  await symlink(victim, partialPath);
  const linked = await runCliInProcess(args, { env });
  t.equal(linked.code, 2);
  t.match(linked.stderr, /refusing to use .*\.out\.ndjson\.slack-etl-partial: it is a symbolic link/);
  t.equal(await readFile(victim, 'utf8'), 'precious line\n', 'the link’s target is untouched');
  t.equal(await readFile(statePath, 'utf8'), stateText, 'the state is untouched');
});

t.test('a finished export is never replaced by the next run with the same state', async (t) => {
  const { directory, env, common, workspace } = await setup(t);
  const statePath = join(directory, 'state.json');
  const out = join(directory, 'out.ndjson');
  const first = await runCliInProcess([...common, '--state', statePath, '--out', out], { env });
  t.equal(first.code, 0, first.stderr);
  const firstText = await readFile(out, 'utf8');
  const channel = workspace.channels.find((candidate) => candidate.botIsMember)!;
  workspace.postMessage(channel.info.id, { text: 'posted after the first export' });
  const second = await runCliInProcess([...common, '--state', statePath, '--out', out], { env });
  t.equal(second.code, 2, 'refused');
  t.match(second.stderr, /out\.ndjson holds the export finished at .* records as written/);
  t.equal(await readFile(out, 'utf8'), firstText, 'the first export is intact');
  const next = await runCliInProcess([...common, '--state', statePath, '--out', join(directory, 'next.ndjson')], { env });
  t.equal(next.code, 0, next.stderr);
  t.match(
    parseNdjson(await readFile(join(directory, 'next.ndjson'), 'utf8')).map((document) => document.text),
    ['posted after the first export'],
    'the change went to the new file',
  );
});

t.test('early checks: a read-only state directory, a malformed committedBytes, a huge window', async (t) => {
  const { slack, directory, env, common } = await setup(t);
  const isRoot = process.getuid?.() === 0;
  let readOnly = '/proc';
  if (!isRoot) {
    readOnly = join(directory, 'read-only');
    await (await import('node:fs/promises')).mkdir(readOnly);
    await chmod(readOnly, 0o555);
    t.teardown(() => chmod(readOnly, 0o755));
  }
  const before = slack.calls.length;
  const readOnlyRun = await runCliInProcess([...common, '--state', join(readOnly, 'state.json'), '--out', join(directory, 'a.ndjson')], {
    env,
  });
  t.equal(readOnlyRun.code, 2);
  t.match(
    readOnlyRun.stderr,
    /cannot write the state file .*state\.json: the directory .* is not writable \(E[A-Z]+\) — make it writable or choose another --state path/,
  );
  t.equal(slack.calls.length, before, 'no Slack call was made');

  const statePath = join(directory, 'state.json');
  const out = join(directory, 'out.ndjson');
  const bad = JSON.stringify({
    ...emptyState(),
    run: { path: out, partialPath: join(directory, '.out.ndjson.slack-etl-partial'), committedBytes: -5 },
  });
  await writeFile(statePath, bad);
  const malformed = await runCliInProcess([...common, '--state', statePath, '--out', out], { env });
  t.equal(malformed.code, 2);
  t.match(malformed.stderr, /the state file .*state\.json is not usable: "run\.committedBytes" must be a whole number of bytes, got -5/);
  t.equal(await readFile(statePath, 'utf8'), bad, 'the state file is not rewritten');

  const huge = await runCliInProcess(
    [
      ...common.filter((arg) => arg !== '0' && arg !== '--fetch-last-n-days'),
      '--fetch-last-n-days',
      '100000000',
      '--out',
      join(directory, 'huge.ndjson'),
    ],
    { env },
  );
  t.equal(huge.code, 0, huge.stderr);
  const all = await runCliInProcess([...common, '--out', join(directory, 'all.ndjson')], { env });
  t.equal(all.code, 0, all.stderr);
  // Channels are read concurrently, so lines of different channels may interleave differently from run to run.
  const sortedLines = async (name: string) => (await readFile(join(directory, name), 'utf8')).split('\n').sort();
  t.strictSame(await sortedLines('huge.ndjson'), await sortedLines('all.ndjson'), 'a window before 1970 is all history');
  t.notOk(
    slack.calls.some((call) => call.params.oldest?.startsWith('-')),
    'no negative oldest was sent',
  );
});

t.test('a killed .gz export leaves no temporary file once the next run to it is done', async (t) => {
  const { directory, env, common } = await setup(t, 2_000);
  const out = join(directory, 'out.ndjson.gz');
  const child = spawn(...nodeCommand([binPath, ...common, '--out', out]), { env: childEnvironment(env), stdio: 'ignore' });
  // Kill once its temporary file exists.
  for (;;) {
    const names = await readdir(directory);
    if (names.some((name) => name.endsWith('.partial')) || child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('close', resolve));
  const next = await runCliInProcess([...common, '--out', out], { env });
  t.equal(next.code, 0, next.stderr);
  t.strictSame(
    (await readdir(directory)).filter((name) => name !== 'out.ndjson.gz'),
    [],
    'no .partial litter, no lock left',
  );
});

t.test('a resumable export checkpoints on a timer: a burst followed by a stall is committed during the stall', async (t) => {
  const directory = await temporaryDirectory(t);
  const checkpoints: NdjsonCheckpoint[] = [];
  let burstCommitted!: () => void;
  const committed = new Promise<void>((resolve) => (burstCommitted = resolve));
  let endStall!: () => void;
  const stall = new Promise<void>((resolve) => (endStall = resolve));
  async function* burstThenStall() {
    for (let index = 0; index < 5; index++) yield { _id: `D${index}`, type: 'message' };
    await stall; // Slack is slow (a long Retry-After): no document arrives for a while
    yield { _id: 'D5', type: 'message' };
  }
  const sink = ndjsonSink({
    path: join(directory, 'out.ndjson'),
    resume: {
      partialPath: join(directory, '.out.ndjson.slack-etl-partial'),
      committedBytes: 0,
      intervalMs: 50,
      onCheckpoint: async (checkpoint) => {
        checkpoints.push(checkpoint);
        if (checkpoint.documents === 5) burstCommitted();
      },
    },
  });
  const running = sink(burstThenStall(), {} as never);
  const guard = setTimeout(() => endStall(), 20_000); // fail, not hang, if no checkpoint comes
  await Promise.race([committed, stall]);
  t.ok(
    checkpoints.some((checkpoint) => checkpoint.documents === 5),
    'the burst was committed while no document arrived',
  );
  t.equal(
    (await stat(join(directory, '.out.ndjson.slack-etl-partial'))).size,
    checkpoints.at(-1)!.bytes,
    'the committed bytes are on disk',
  );
  endStall();
  clearTimeout(guard);
  await running;
  t.equal(parseNdjson(await readFile(join(directory, 'out.ndjson'), 'utf8')).length, 6);
});

t.test('a resume after Slack changed a written document writes its _id once, in the new version', async (t) => {
  const directory = await temporaryDirectory(t);
  const out = join(directory, 'out.ndjson');
  const partialPath = join(directory, '.out.ndjson.slack-etl-partial');
  let saved: NdjsonCheckpoint | undefined;
  const known = new Set<string>();
  // First run: three documents committed, then the run dies.
  await t.rejects(
    ndjsonSink({
      path: out,
      resume: { partialPath, committedBytes: 0, intervalMs: 60_000, onCheckpoint: async (checkpoint) => void (saved = checkpoint) },
    })(
      (async function* () {
        for (const id of ['A', 'B', 'C']) {
          known.add(id);
          yield { _id: id, text: 'old' };
        }
        throw new Error('killed');
      })(),
      {} as never,
    ),
  );
  t.equal(saved?.documents, 3);
  // The resume: B changed in Slack (emitted again), D is new.
  await ndjsonSink({
    path: out,
    resume: {
      partialPath,
      committedBytes: saved!.bytes,
      repeats: saved!.repeats,
      isRepeat: (document) => known.has(String(document._id)),
      onCheckpoint: async () => {},
    },
  })(
    (async function* () {
      yield { _id: 'B', text: 'new' };
      yield { _id: 'D', text: 'new' };
    })(),
    {} as never,
  );
  const documents = parseNdjson(await readFile(out, 'utf8'));
  t.strictSame(
    documents.map((document) => `${document._id}:${document.text}`),
    ['A:old', 'C:old', 'B:new', 'D:new'],
    'B once, in its new version',
  );
  await t.rejects(stat(partialPath), 'the partial file is gone');
});
