// The bad-input matrix through the CLI: one line naming problem and fix, the right exit code, no stack trace, partial output, secret.

import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { generateWorkspace } from '../fixtures/slack-api/generator.js';
import { ALL_SCOPES, startFakeSlack, type FakeSlackServer } from '../fixtures/slack-api/server.js';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { parseNdjson, rateScale, runCli, scaledTierRatesFlag, temporaryDirectory, testToken, type CliResult } from './helpers/slack.js';
import { repositoryPath, binPath } from './helpers/paths.js';
import { runCliInProcess as runMain } from './helpers/cli-in-process.js';

const fixturesRules = repositoryPath('fixtures/rules/');
const isRoot = process.getuid?.() === 0;

const wrongToken = 'xoxb-wrong-4711-secret';
const esApiKey = 'es-api-key-4711-secret';
const esPassword = 'es-password-4711-secret';
const urlPassword = 'url-password-4711-secret';
/** Never printed, whatever fails. */
const secrets = [testToken, wrongToken, esApiKey, esPassword, urlPassword];

// One workspace for every fake: no row joins channels, so none changes it. Rows run in-process (main with captured io);
// those where the real process matters (exit codes, a secret on a real stderr, pipes and devices) run bin/slack-etl.js.
const workspace = generateWorkspace({ size: 'small', seed: 7, messageCount: 600, userCount: 20 });
const nowMs = String(workspace.now * 1000);

t.jobs = 3;

async function fakeSlack(t: Test, tokens?: Record<string, { scopes: string[] }>): Promise<FakeSlackServer> {
  const slack = await startFakeSlack({ workspace, rateScale, ...(tokens ? { tokens } : {}) });
  t.teardown(() => slack.close());
  return slack;
}

const slackCalls = (slack: FakeSlackServer): number => Object.values(slack.stats().callsByMethod).reduce((sum, count) => sum + count, 0);

/** The environment of a user with a valid token and nothing else set (the test runner's own variables removed). */
const userEnvironment = (slack: FakeSlackServer): Record<string, string | undefined> => ({
  SLACK_TOKEN: testToken,
  SLACK_API_URL: slack.url,
  SLACK_ETL_NOW: nowMs,
  ELASTICSEARCH_URL: undefined,
  ELASTICSEARCH_API_KEY: undefined,
  ELASTICSEARCH_USERNAME: undefined,
  ELASTICSEARCH_PASSWORD: undefined,
});

interface Expectation {
  code: 1 | 2;
  problem: RegExp;
  fix: RegExp;
  /** Files the working directory held before the run: afterwards it must hold exactly these. */
  directory: string;
  filesBefore?: string[];
}

/** The promise every row checks: one line, problem and fix named, exit code, no stack, no output, no secret. */
async function expectCleanFailure(t: Test, result: CliResult, expectation: Expectation): Promise<void> {
  t.equal(result.code, expectation.code, `exit code ${expectation.code}`);
  const lines = result.stderr.split('\n').filter((line) => line.length > 0);
  t.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(result.stderr)}`);
  t.match(lines[0], /^slack-etl: error: /);
  t.match(lines[0], expectation.problem, 'names the problem');
  t.match(lines[0], expectation.fix, 'names the fix');
  t.match(lines[0], / — /, 'problem, then the fix');
  t.notMatch(result.stderr, /^\s+at /m, 'no stack trace');
  t.equal(result.stdout, '', 'nothing on stdout');
  for (const secret of secrets)
    t.notOk(result.stdout.includes(secret) || result.stderr.includes(secret), `the secret ${secret.slice(0, 8)}… is not printed`);
  t.strictSame(
    (await readdir(expectation.directory)).sort(),
    (expectation.filesBefore ?? []).sort(),
    'no output or partial file left behind',
  );
}

interface OptionRow {
  name: string;
  args: string[];
  problem: RegExp;
  fix: RegExp;
  command?: 'export' | 'sync';
}

const seeExportHelp = /see 'slack-etl export --help'/;
const optionRows: OptionRow[] = [
  {
    name: '--fetch-last-n-days not a number',
    args: ['--fetch-last-n-days', 'abc'],
    problem: /--fetch-last-n-days must be a whole number, got 'abc'/,
    fix: seeExportHelp,
  },
  {
    name: '--fetch-last-n-days negative (=-3)',
    args: ['--fetch-last-n-days=-3'],
    problem: /--fetch-last-n-days must be a whole number, got '-3'/,
    fix: seeExportHelp,
  },
  {
    name: '--fetch-last-n-days negative (space -3)',
    args: ['--fetch-last-n-days', '-3'],
    problem: /option --fetch-last-n-days needs a value, but is followed by '-3'/,
    fix: /write --fetch-last-n-days=-3 if that is the value/,
  },
  {
    name: '--fetch-last-n-days fractional',
    args: ['--fetch-last-n-days', '1.5'],
    problem: /--fetch-last-n-days must be a whole number, got '1.5'/,
    fix: seeExportHelp,
  },
  { name: '--concurrency zero', args: ['--concurrency', '0'], problem: /--concurrency must be at least 1, got 0/, fix: seeExportHelp },
  {
    name: '--concurrency not a number',
    args: ['--concurrency', 'many'],
    problem: /--concurrency must be a whole number, got 'many'/,
    fix: seeExportHelp,
  },
  {
    name: '--concurrency negative',
    args: ['--concurrency=-2'],
    problem: /--concurrency must be a whole number, got '-2'/,
    fix: seeExportHelp,
  },
  {
    name: '--tier-rates not numbers',
    args: ['--tier-rates', '20,x,100'],
    problem: /--tier-rates: expected three positive numbers "T2,T3,T4".*got "20,x,100"/,
    fix: seeExportHelp,
  },
  {
    name: '--tier-rates two values',
    args: ['--tier-rates', '20,50'],
    problem: /--tier-rates: expected three positive numbers/,
    fix: seeExportHelp,
  },
  {
    name: '--tier-rates zero',
    args: ['--tier-rates', '0,50,100'],
    problem: /--tier-rates: expected three positive numbers/,
    fix: seeExportHelp,
  },
  { name: '--tier-rates empty', args: ['--tier-rates', ''], problem: /--tier-rates needs a non-empty value/, fix: seeExportHelp },
  {
    name: '--channel-types unknown type',
    args: ['--channel-types', 'public,bogus'],
    problem: /--channel-types: unknown type 'bogus'/,
    fix: /use public, private, im, mpim/,
  },
  {
    name: '--log-format unknown',
    args: ['--log-format', 'yaml'],
    problem: /--log-format must be text or json, got 'yaml'/,
    fix: seeExportHelp,
  },
  { name: 'unknown flag', args: ['--bogus'], problem: /unknown option --bogus for 'slack-etl export'/, fix: seeExportHelp },
  {
    name: "another command's flag",
    args: ['--delete-stale'],
    problem: /unknown option --delete-stale for 'slack-etl export'/,
    fix: seeExportHelp,
  },
  { name: 'a boolean flag given a value', args: ['--quiet=yes'], problem: /'--quiet' does not take an argument/, fix: seeExportHelp },
  { name: 'a stray argument', args: ['slack'], problem: /unexpected argument 'slack' for 'slack-etl export'/, fix: seeExportHelp },
  {
    name: 'sync: --concurrency zero',
    command: 'sync',
    args: ['--index', 'slack', '--es-url', 'http://127.0.0.1:9', '--concurrency', '0'],
    problem: /--concurrency must be at least 1/,
    fix: /see 'slack-etl sync --help'/,
  },
];

t.test('wrong option types and ranges: exit 2 before any Slack call', async (t) => {
  t.jobs = 3;
  for (const row of optionRows) {
    t.test(row.name, async (t) => {
      const slack = await fakeSlack(t);
      const directory = await temporaryDirectory(t);
      const output = row.command === 'sync' ? [] : ['--out', 'out.ndjson'];
      const result = await runMain([row.command ?? 'export', ...output, ...row.args], { cwd: directory, env: userEnvironment(slack) });
      await expectCleanFailure(t, result, { code: 2, problem: row.problem, fix: row.fix, directory });
      t.equal(slackCalls(slack), 0, 'no Slack call');
    });
  }
  t.test('missing flag value (last argument)', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runMain(['export', '--tier-rates', scaledTierRatesFlag, '--out'], { cwd: directory, env: userEnvironment(slack) });
    await expectCleanFailure(t, result, { code: 2, problem: /option --out needs a value/, fix: seeExportHelp, directory });
    t.equal(slackCalls(slack), 0, 'no Slack call');
  });
  t.test('unknown command', async (t) => {
    const directory = await temporaryDirectory(t);
    const result = await runCli(['exprot', '--out', 'out.ndjson'], { cwd: directory });
    await expectCleanFailure(t, result, {
      code: 2,
      problem: /unknown command 'exprot'/,
      fix: /run 'slack-etl --help' for the commands/,
      directory,
    });
  });
});

t.test('credentials', async (t) => {
  t.jobs = 3;
  t.test('missing token: names both ways to give one', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runMain(['export', '--out', 'out.ndjson'], {
      cwd: directory,
      env: { ...userEnvironment(slack), SLACK_TOKEN: undefined },
    });
    await expectCleanFailure(t, result, {
      code: 2,
      problem: /no Slack token/,
      fix: /set SLACK_TOKEN \(preferred\) or pass --token/,
      directory,
    });
    t.equal(slackCalls(slack), 0, 'no Slack call');
  });
  t.test('wrong token on the command line: rejected by auth.test, never echoed', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runCli(['export', '--out', 'out.ndjson', '--token', wrongToken], { cwd: directory, env: userEnvironment(slack) });
    await expectCleanFailure(t, result, {
      code: 2,
      problem: /Slack rejected the token \(invalid_auth\)/,
      fix: /set SLACK_TOKEN or --token to a valid bot token/,
      directory,
    });
    t.strictSame(slack.stats().callsByMethod, { 'auth.test': 1 }, 'only auth.test was called');
  });
  t.test('wrong token in SLACK_TOKEN', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runMain(['export', '--out', 'out.ndjson'], {
      cwd: directory,
      env: { ...userEnvironment(slack), SLACK_TOKEN: wrongToken },
    });
    await expectCleanFailure(t, result, {
      code: 2,
      problem: /Slack rejected the token \(invalid_auth\)/,
      fix: /valid bot token/,
      directory,
    });
  });
  t.test('token without the scope a channel type needs: missing_scope names the scope to add', async (t) => {
    const scopedToken = 'xoxb-no-private-history';
    const slack = await fakeSlack(t, { [scopedToken]: { scopes: ALL_SCOPES.filter((scope) => scope !== 'groups:history') } });
    const directory = await temporaryDirectory(t);
    const result = await runMain(
      ['export', '--out', 'out.ndjson', '--channel-types', 'public,private', '--tier-rates', scaledTierRatesFlag],
      {
        cwd: directory,
        env: { ...userEnvironment(slack), SLACK_TOKEN: scopedToken },
      },
    );
    await expectCleanFailure(t, result, {
      code: 2,
      problem: /the Slack token lacks the scope groups:history/,
      fix: /add them under OAuth & Permissions of the Slack app, reinstall it/,
      directory,
    });
    t.notOk(result.stderr.includes(scopedToken), 'the token is not printed');
    t.equal(slack.stats().callsByMethod['conversations.history'] ?? 0, 0, 'no history was read');
  });
  t.test('with --log-format json the error is one JSON line with its code and stack, still without the token', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runMain(['export', '--out', 'out.ndjson', '--log-format', 'json', '--token', wrongToken], {
      cwd: directory,
      env: userEnvironment(slack),
    });
    t.equal(result.code, 2);
    const lines = result.stderr.split('\n').filter((line) => line.length > 0);
    t.equal(lines.length, 1, 'one line');
    const entry = JSON.parse(lines[0]!) as { level: string; code: string; message: string; stack: string };
    t.equal(entry.level, 'error');
    t.equal(entry.code, 'slack_auth');
    t.match(entry.message, /Slack rejected the token \(invalid_auth\) — set SLACK_TOKEN/);
    t.match(entry.stack, /\n\s+at /, 'the stack trace is there on request');
    t.notOk(result.stderr.includes(wrongToken), 'the token is not printed');
    t.strictSame(await readdir(directory), []);
  });
});

t.test('rules and state files', async (t) => {
  t.jobs = 3;
  const rulesRow = async (
    t: Test,
    rulesPath: (directory: string) => Promise<string>,
    problem: RegExp,
    fix: RegExp,
    filesBefore: string[] = [],
  ) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const path = await rulesPath(directory);
    const result = await runMain(['export', '--out', 'out.ndjson', '--rules', path], { cwd: directory, env: userEnvironment(slack) });
    await expectCleanFailure(t, result, { code: 2, problem, fix, directory, filesBefore });
    t.equal(slackCalls(slack), 0, 'no Slack call');
  };
  const rulesFix = /pass the path of a JSON rules file/;
  t.test('rules file missing', (t) =>
    rulesRow(t, async (directory) => join(directory, 'missing.json'), /cannot read rules file .*missing\.json: no such file/, rulesFix),
  );
  // Root reads a chmod 000 file anyway: as root the unreadable file is a directory, otherwise a file without permissions.
  t.test(`rules file unreadable (${isRoot ? 'a directory, as root ignores permissions' : 'chmod 000'})`, (t) =>
    rulesRow(
      t,
      async (directory) => {
        const path = join(directory, 'rules.json');
        if (isRoot) await mkdir(path);
        else await writeFile(path, '[]').then(() => chmod(path, 0o000));
        return path;
      },
      isRoot ? /cannot read rules file .*rules\.json: it is a directory/ : /cannot read rules file .*rules\.json: permission denied/,
      rulesFix,
      ['rules.json'],
    ),
  );
  t.test('rules file malformed JSON', (t) =>
    rulesRow(
      t,
      async () => join(fixturesRules, 'broken.json'),
      /broken\.json.*not valid JSON at line 3, column 3/,
      /then check them with `slack-etl rules check .*broken\.json`/,
    ),
  );
  t.test('rules file with invalid rules', (t) =>
    rulesRow(
      t,
      async () => join(fixturesRules, 'invalid.json'),
      /invalid\.json: 10 problems: rule bad-operator: /,
      /fix the rules, then check them/,
    ),
  );

  const stateRow = async (t: Test, write: (path: string) => Promise<void>, problem: RegExp, fix: RegExp) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const path = join(directory, 'state.json');
    await write(path);
    const before = (await stat(path)).isFile() ? await readFile(path, 'utf8') : null;
    const result = await runMain(['export', '--out', 'out.ndjson', '--state', 'state.json'], {
      cwd: directory,
      env: userEnvironment(slack),
    });
    await expectCleanFailure(t, result, { code: 2, problem, fix, directory, filesBefore: ['state.json'] });
    if (before !== null) t.equal(await readFile(path, 'utf8'), before, 'the state file is untouched');
    t.equal(slackCalls(slack), 0, 'no Slack call');
  };
  t.test('state file malformed JSON', (t) =>
    stateRow(
      t,
      (path) => writeFile(path, '{"format": "slack-etl-state", '),
      /the state file state\.json is not usable: it is not valid JSON/,
      /it was left untouched; pass another --state path/,
    ),
  );
  t.test('state file of another program', (t) =>
    stateRow(
      t,
      (path) => writeFile(path, '{"hello": "world"}\n'),
      /the state file state\.json is not usable: it is not a slack-etl state file/,
      /pass another --state path/,
    ),
  );
  t.test('state file unreadable (a directory)', (t) =>
    stateRow(t, (path) => mkdir(path), /cannot use the state file state\.json: it is a directory/, /give a file name to --state/),
  );
});

t.test('output paths', async (t) => {
  t.jobs = 3;
  const outRow = async (t: Test, out: (directory: string) => Promise<string>, problem: RegExp, fix: RegExp, filesBefore: string[] = []) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runMain(['export', '--out', await out(directory)], { cwd: directory, env: userEnvironment(slack) });
    await expectCleanFailure(t, result, { code: 2, problem, fix, directory, filesBefore });
    t.equal(slackCalls(slack), 0, 'no Slack call');
  };
  t.test('--out in a missing directory', (t) =>
    outRow(
      t,
      async () => 'missing/out.ndjson',
      /cannot write missing\/out\.ndjson: the directory .*missing does not exist/,
      /create it or choose another --out path/,
    ),
  );
  t.test('--out under a regular file', (t) =>
    outRow(
      t,
      async (directory) => {
        await writeFile(join(directory, 'notes.txt'), 'x');
        return 'notes.txt/out.ndjson';
      },
      /cannot write notes\.txt\/out\.ndjson: .*notes\.txt is a file, not a directory/,
      /choose another --out path/,
      ['notes.txt'],
    ),
  );
  // Root writes through chmod 555: as root the read-only directory is /proc, where no file can be created.
  t.test(`--out in a read-only directory (${isRoot ? '/proc, as root ignores permissions' : 'chmod 555'})`, async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    let readOnly = '/proc';
    if (!isRoot) {
      readOnly = join(directory, 'read-only');
      await mkdir(readOnly);
      await chmod(readOnly, 0o555);
      t.teardown(() => chmod(readOnly, 0o755));
    }
    const result = await runMain(['export', '--out', join(readOnly, 'out.ndjson')], { cwd: directory, env: userEnvironment(slack) });
    await expectCleanFailure(t, result, {
      code: 2,
      problem: /cannot write .*out\.ndjson: the directory .* is not writable/,
      fix: /choose another --out path/,
      directory,
      filesBefore: isRoot ? [] : ['read-only'],
    });
    if (!isRoot) t.strictSame(await readdir(readOnly), [], 'nothing in the read-only directory');
    t.equal(slackCalls(slack), 0, 'no Slack call');
  });
  t.test('--out is a directory', (t) =>
    outRow(
      t,
      async (directory) => {
        await mkdir(join(directory, 'exports'));
        return 'exports';
      },
      /cannot write exports: it is a directory/,
      /give a file name to --out/,
      ['exports'],
    ),
  );

  t.test('an existing output file is kept when the run fails and replaced only when it succeeds', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const out = join(directory, 'out.ndjson');
    await writeFile(out, 'the previous export\n');
    const failed = await runMain(['export', '--out', 'out.ndjson', '--token', wrongToken, '--tier-rates', scaledTierRatesFlag], {
      cwd: directory,
      env: userEnvironment(slack),
    });
    await expectCleanFailure(t, failed, {
      code: 2,
      problem: /Slack rejected the token/,
      fix: /valid bot token/,
      directory,
      filesBefore: ['out.ndjson'],
    });
    t.equal(await readFile(out, 'utf8'), 'the previous export\n', 'a failed run leaves the old file as it was');
    const succeeded = await runMain(['export', '--out', 'out.ndjson', '--tier-rates', scaledTierRatesFlag, '--quiet'], {
      cwd: directory,
      env: userEnvironment(slack),
    });
    t.equal(succeeded.code, 0, succeeded.stderr);
    t.equal(succeeded.stderr, '', 'quiet');
    const documents = parseNdjson(await readFile(out, 'utf8'));
    t.ok(documents.length > 100, `a successful run replaced it (${documents.length} documents)`);
    t.strictSame(await readdir(directory), ['out.ndjson'], 'no temporary file left');
  });
});

/** `script` under bash, for pipelines; the CLI path is in $SLACK_ETL_BIN. */
function runBash(
  script: string,
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...env, SLACK_ETL_BIN: binPath, NODE: process.execPath })) {
    if (value !== undefined && !key.startsWith('TAP') && !key.startsWith('NODE_OPTIONS')) environment[key] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: environment, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('streams and devices', async (t) => {
  t.jobs = 2;
  t.test('stdout closed early (export | head -1): exit 0, nothing on stderr', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runBash(
      `"$NODE" "$SLACK_ETL_BIN" export --fetch-last-n-days 0 --tier-rates ${scaledTierRatesFlag} | head -1; ` +
        `echo "exit=\${PIPESTATUS[0]}" >&2`,
      userEnvironment(slack),
      directory,
    );
    t.equal(result.stderr, 'exit=0\n', 'slack-etl exited 0 and printed nothing');
    const lines = result.stdout.split('\n').filter((line) => line.length > 0);
    t.equal(lines.length, 1);
    t.equal(JSON.parse(lines[0]!).type, 'user', 'the one line is a whole document');
    t.strictSame(await readdir(directory), []);
  });
  // /dev/full answers every write with ENOSPC: the disk-full path without filling a disk.
  t.test('disk full (--out /dev/full): exit 1 naming the problem, the device left as it was', async (t) => {
    const before = await stat('/dev/full');
    t.ok(before.isCharacterDevice(), '/dev/full is the full device');
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const devBefore = await readdir('/dev');
    const result = await runCli(['export', '--out', '/dev/full', '--tier-rates', scaledTierRatesFlag], {
      cwd: directory,
      env: userEnvironment(slack),
    });
    await expectCleanFailure(t, result, {
      code: 1,
      problem: /no space left while writing \/dev\/full/,
      fix: /free disk space and run again/,
      directory,
    });
    const after = await stat('/dev/full');
    t.ok(after.isCharacterDevice() && after.rdev === before.rdev, '/dev/full is still the device (written in place, not replaced)');
    t.strictSame((await readdir('/dev')).sort(), devBefore.sort(), 'no temporary file left in /dev');
  });
  t.test('a device as --out is written in place (/dev/null)', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runMain(['export', '--out', '/dev/null', '--tier-rates', scaledTierRatesFlag, '--quiet'], {
      cwd: directory,
      env: userEnvironment(slack),
    });
    t.equal(result.code, 0, result.stderr);
    t.ok((await stat('/dev/null')).isCharacterDevice(), '/dev/null is still the device');
  });
  t.test('a FIFO as --out is written in place: the reader gets every document, the FIFO stays a FIFO', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const fifo = join(directory, 'documents.fifo');
    execFileSync('mkfifo', [fifo]);
    const run = runCli(['export', '--out', fifo, '--fetch-last-n-days', '0', '--tier-rates', scaledTierRatesFlag, '--quiet'], {
      cwd: directory,
      env: userEnvironment(slack),
    });
    // Opening a FIFO for reading waits for its writer: the run.
    const received = await readFile(fifo, 'utf8');
    const result = await run;
    t.equal(result.code, 0, result.stderr);
    const documents = parseNdjson(received) as Array<{ _id: string; type: string }>;
    t.strictSame([...new Set(documents.map((document) => document.type))].sort(), ['channel', 'message', 'user'], 'whole documents');
    t.equal(new Set(documents.map((document) => document._id)).size, documents.length, 'each once');
    t.ok((await stat(fifo)).isFIFO(), 'still a FIFO, never replaced by a file');
    t.strictSame(await readdir(directory), ['documents.fifo'], 'no temporary file beside it');
  });
});

/** A loopback port with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('sync', async (t) => {
  t.jobs = 3;
  t.test('sync without --index', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runMain(['sync', '--es-url', 'http://127.0.0.1:9'], { cwd: directory, env: userEnvironment(slack) });
    await expectCleanFailure(t, result, { code: 2, problem: /sync needs --index NAME/, fix: /see 'slack-etl sync --help'/, directory });
    t.equal(slackCalls(slack), 0, 'no Slack call');
  });
  t.test('sync without an Elasticsearch URL', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const result = await runMain(['sync', '--index', 'slack'], { cwd: directory, env: userEnvironment(slack) });
    await expectCleanFailure(t, result, {
      code: 2,
      problem: /sync needs an Elasticsearch URL/,
      fix: /set ELASTICSEARCH_URL or pass --es-url/,
      directory,
    });
  });
  t.test('sync with a wrong API key: exit 2 naming authentication, no Slack call, key not printed', async (t) => {
    const slack = await fakeSlack(t);
    const elasticsearch = await startFakeElasticsearch({ auth: { apiKey: 'the-right-key' } });
    t.teardown(() => elasticsearch.close());
    const directory = await temporaryDirectory(t);
    const result = await runCli(['sync', '--index', 'slack', '--es-url', elasticsearch.url, '--es-api-key', esApiKey], {
      cwd: directory,
      env: userEnvironment(slack),
    });
    await expectCleanFailure(t, result, {
      code: 2,
      problem: /rejected the credentials: authentication failed \(401/,
      fix: /pass a valid API key with --es-api-key/,
      directory,
    });
    t.equal(slackCalls(slack), 0, 'no Slack call');
    t.equal(elasticsearch.indices.size, 0, 'no index created');
  });
  t.test('sync with a wrong password in ELASTICSEARCH_PASSWORD', async (t) => {
    const slack = await fakeSlack(t);
    const elasticsearch = await startFakeElasticsearch({ auth: { username: 'elastic', password: 'the-right-password' } });
    t.teardown(() => elasticsearch.close());
    const directory = await temporaryDirectory(t);
    const result = await runMain(['sync', '--index', 'slack', '--es-url', elasticsearch.url, '--es-username', 'elastic'], {
      cwd: directory,
      env: { ...userEnvironment(slack), ELASTICSEARCH_PASSWORD: esPassword },
    });
    await expectCleanFailure(t, result, { code: 2, problem: /authentication failed/, fix: /--es-username\/--es-password/, directory });
    t.equal(slackCalls(slack), 0, 'no Slack call');
  });
  t.test('sync with unreachable Elasticsearch: the URL (without its password) named, no Slack call', async (t) => {
    const slack = await fakeSlack(t);
    const directory = await temporaryDirectory(t);
    const port = await closedPort();
    const result = await runMain(['sync', '--index', 'slack', '--es-url', `http://elastic:${urlPassword}@127.0.0.1:${port}`], {
      cwd: directory,
      env: userEnvironment(slack),
    });
    await expectCleanFailure(t, result, {
      code: 2,
      problem: new RegExp(`Elasticsearch is unreachable at http://127\\.0\\.0\\.1:${port} \\(`),
      fix: /check --es-url \(or ELASTICSEARCH_URL\), that the cluster runs/,
      directory,
    });
    t.equal(slackCalls(slack), 0, 'no Slack call');
  });
});
