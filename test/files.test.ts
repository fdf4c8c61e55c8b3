// lib/files.ts: private files are created 0600 and exclusively, no symlink is followed, and a run lock has one holder.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chown, link, lstat, readFile, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  acquireLock,
  appendStream,
  createPrivateFile,
  createTemporaryBeside,
  LockedError,
  lockPathFor,
  openForAppend,
  openOwnedFile,
  UnsafeFileError,
} from '../lib/files.js';
import { temporaryDirectory } from './helpers/slack.js';
import { repositoryPath } from './helpers/paths.js';

const filesModule = repositoryPath('dist/lib/files.js');
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** The pid of a process that has exited (so it is not running now). */
const deadPid = (() => {
  let pid: number | undefined;
  return (): number =>
    (pid ??= Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout));
})();

async function plantLock(lockPath: string, owner: { pid: number; host?: string; since?: string; token?: string }): Promise<void> {
  await writeFile(lockPath, JSON.stringify({ host: hostname(), since: '2026-01-01T00:00:00.000Z', token: 'planted0token000', ...owner }));
}

t.test('createPrivateFile creates 0600 whatever the umask, and refuses an existing file or any symlink, touching nothing', async (t) => {
  const directory = await temporaryDirectory(t);
  const previousUmask = process.umask(0);
  t.teardown(() => void process.umask(previousUmask));
  const path = join(directory, 'private.ndjson');
  const handle = await createPrivateFile(path);
  await handle.close();
  t.equal(await modeOf(path), 0o600, 'created 0600 even with umask 0');

  await writeFile(join(directory, 'victim'), 'precious\n');
  await t.rejects(createPrivateFile(path), { code: 'EEXIST' }, 'an existing file is not reused');
  await symlink(join(directory, 'victim'), join(directory, 'link-to-file'));
  await t.rejects(createPrivateFile(join(directory, 'link-to-file')), 'a symlink to a file is refused');
  await symlink(join(directory, 'not-there'), join(directory, 'dangling'));
  await t.rejects(createPrivateFile(join(directory, 'dangling')), 'a dangling symlink is refused (it would create its target)');
  await t.rejects(stat(join(directory, 'not-there')), 'the dangling link’s target was not created');
  t.equal(await readFile(join(directory, 'victim'), 'utf8'), 'precious\n', 'the link’s target is untouched');

  const kept = await createPrivateFile(join(directory, 'shared.ndjson'), { mode: 0o640 });
  await kept.close();
  t.equal(await modeOf(join(directory, 'shared.ndjson')), 0o640, 'an explicit mode (an existing file’s, kept) is set exactly');
});

t.test('createTemporaryBeside makes an unpredictable hidden name and keeps the replaced file’s mode', async (t) => {
  const directory = await temporaryDirectory(t);
  const finalPath = join(directory, 'out.ndjson');
  const fresh = await createTemporaryBeside(finalPath, 'partial');
  await fresh.handle.close();
  t.match(fresh.path, /[/\\]\.out\.ndjson\.\d+\.[0-9a-f]{12}\.partial$/);
  t.equal(await modeOf(fresh.path), 0o600, 'a new file is 0600');
  await writeFile(finalPath, 'old\n', { mode: 0o644 });
  const replacing = await createTemporaryBeside(finalPath, 'partial');
  await replacing.handle.close();
  t.equal(await modeOf(replacing.path), 0o644, 'the mode of the file it replaces is kept');
  t.not(replacing.path, fresh.path);
});

t.test('openOwnedFile accepts only a regular file of the current user with one name, never through a symlink', async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, 'partial');
  await writeFile(path, 'line\n');
  const handle = await openOwnedFile(path);
  await handle.close();
  t.pass('an own regular file opens');

  await symlink(path, join(directory, 'link'));
  await t.rejects(openOwnedFile(join(directory, 'link')), { name: 'UnsafeFileError', code: 'unsafe_file', message: /is a symbolic link/ });
  spawnSync('mkfifo', [join(directory, 'fifo')]);
  if ((await lstat(join(directory, 'fifo')).catch(() => null))?.isFIFO()) {
    await t.rejects(openOwnedFile(join(directory, 'fifo'), 'r'), { code: 'unsafe_file', message: /not a regular file/ });
    await t.rejects(
      openForAppend(join(directory, 'fifo')),
      { code: 'unsafe_file', message: /not a regular file/ },
      'a FIFO does not block the open',
    );
  }
  await t.rejects(openOwnedFile(directory, 'r'), { code: 'unsafe_file', message: /not a regular file/ }, 'a directory is refused');
  await writeFile(join(directory, 'target'), 'secret\n');
  await link(join(directory, 'target'), join(directory, 'second-name'));
  await t.rejects(openOwnedFile(join(directory, 'second-name')), { code: 'unsafe_file', message: /2 hard links/ });
  if (process.getuid?.() === 0) {
    await writeFile(join(directory, 'foreign'), 'x\n');
    await chown(join(directory, 'foreign'), 65534, 65534);
    await t.rejects(openOwnedFile(join(directory, 'foreign')), {
      code: 'unsafe_file',
      message: /owned by uid 65534, not by the current user/,
    });
  }
});

t.test('openForAppend and appendStream create 0600, append without truncating, and refuse a symlink', async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, 'dead-letters.ndjson');
  const first = await openForAppend(path);
  await first.write('one\n');
  await first.close();
  t.equal(await modeOf(path), 0o600);
  const second = await openForAppend(path);
  await second.write('two\n');
  await second.close();
  const stream = appendStream(path);
  stream.end('three\n');
  await once(stream, 'close');
  t.equal(await readFile(path, 'utf8'), 'one\ntwo\nthree\n', 'every open appended; nothing was truncated');

  await writeFile(join(directory, 'victim'), 'precious\n');
  await symlink(join(directory, 'victim'), join(directory, 'link'));
  await t.rejects(openForAppend(join(directory, 'link')), { code: 'unsafe_file' });
  const planted = appendStream(join(directory, 'link'));
  planted.write('leak\n');
  const [error] = (await once(planted, 'error')) as [Error];
  t.type(error, UnsafeFileError, 'the stream reports the symlink as its error');
  t.equal(await readFile(join(directory, 'victim'), 'utf8'), 'precious\n', 'nothing was written through the link');
});

t.test('a lock has one holder: a second taker gets an error naming pid, host and since; release frees it', async (t) => {
  const directory = await temporaryDirectory(t);
  const lockPath = lockPathFor(join(directory, 'state.json'));
  t.equal(lockPath, join(directory, 'state.json.lock'));
  const lock = await acquireLock(lockPath, { what: 'the state file state.json' });
  t.equal(await modeOf(lockPath), 0o600);
  t.ok(await lock.stillHeld());
  const error = await acquireLock(lockPath, { what: 'the state file state.json' }).catch((caught: unknown) => caught);
  t.type(error, LockedError);
  t.equal((error as LockedError).exitCode, 2);
  t.match(
    (error as Error).message,
    new RegExp(
      `^the state file state\\.json is in use by another slack-etl run \\(pid ${process.pid} on ${hostname()}, since ${lock.owner.since.replace(/\./g, '\\.')}\\)$`,
    ),
  );
  t.match((error as LockedError).hint, `remove ${lockPath}`);
  await lock.release();
  await t.rejects(stat(lockPath), 'release removes the lock file');
  const again = await acquireLock(lockPath);
  t.ok(await again.stillHeld(), 'free again after release');
  await again.release();
  await again.release();
  t.pass('release twice is harmless');
});

t.test('a lock of a process that is gone is taken over; one on another host or of a live process is not', async (t) => {
  const directory = await temporaryDirectory(t);
  const lockPath = join(directory, 'state.json.lock');
  await plantLock(lockPath, { pid: deadPid() });
  const lock = await acquireLock(lockPath);
  t.equal(JSON.parse(await readFile(lockPath, 'utf8')).pid, process.pid, 'the stale lock is now ours');
  await lock.release();

  await plantLock(lockPath, { pid: deadPid(), host: 'another-host.example' });
  await t.rejects(
    acquireLock(lockPath),
    { code: 'locked', message: /pid \d+ on another-host\.example, since 2026-01-01T00:00:00\.000Z/ },
    'another host’s lock is never judged stale',
  );
  await plantLock(lockPath, { pid: process.ppid });
  await t.rejects(
    acquireLock(lockPath),
    { code: 'locked', message: new RegExp(`pid ${process.ppid} on`) },
    'a live process keeps its lock',
  );
  await plantLock(lockPath, { pid: process.pid, token: 'earlier0process0' });
  const reused = await acquireLock(lockPath);
  t.ok(await reused.stillHeld(), 'our own pid on a lock we do not hold (a restarted container) is stale');
  await reused.release();

  await writeFile(lockPath, 'not json');
  await t.rejects(acquireLock(lockPath), { code: 'locked', message: /cannot be locked: the lock file is not a slack-etl lock/ });
  await writeFile(
    join(directory, 'elsewhere'),
    JSON.stringify({ pid: deadPid(), host: hostname(), since: 'x', token: 'abcdabcdabcdabcd' }),
  );
  await unlink(lockPath);
  await symlink(join(directory, 'elsewhere'), lockPath);
  await t.rejects(
    acquireLock(lockPath),
    { code: 'locked', message: /the lock file is a symbolic link/ },
    'a planted symlink is not a lock, and is not removed',
  );
  t.ok((await lstat(lockPath)).isSymbolicLink());
});

t.test('many takers racing for one stale lock in one process: exactly one wins, every time', async (t) => {
  const directory = await temporaryDirectory(t);
  const lockPath = join(directory, 'state.json.lock');
  const pid = deadPid();
  for (let round = 0; round < 8; round++) {
    await plantLock(lockPath, { pid, token: `stale${String(round).padStart(11, '0')}` });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => acquireLock(lockPath)));
    const winners = results.filter((result) => result.status === 'fulfilled');
    t.equal(winners.length, 1, `round ${round}: one winner`);
    for (const result of results) if (result.status === 'rejected') t.equal((result.reason as LockedError).code, 'locked');
    const winner = (winners[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value;
    t.ok(await winner.stillHeld(), `round ${round}: the winner’s lock is in place`);
    await winner.release();
  }
});

t.test('a takeover that judged a lock stale never removes the lock another run took over meanwhile', async (t) => {
  const directory = await temporaryDirectory(t);
  const lockPath = join(directory, 'state.json.lock');
  await plantLock(lockPath, { pid: deadPid() });
  let resumeSlowTaker!: () => void;
  let slowTakerPaused!: () => void;
  const paused = new Promise<void>((resolve) => (slowTakerPaused = resolve));
  const slow = acquireLock(lockPath, {
    beforeTakeover: () => {
      slowTakerPaused();
      return new Promise<void>((resolve) => (resumeSlowTaker = resolve));
    },
  });
  await paused;
  const fast = await acquireLock(lockPath);
  t.ok(await fast.stillHeld(), 'the fast run took the stale lock over');
  resumeSlowTaker();
  await t.rejects(
    slow,
    { code: 'locked', message: new RegExp(`pid ${process.pid} on .*since ${fast.owner.since.replace(/\./g, '\\.')}`) },
    'the slow run is told the lock is held',
  );
  t.ok(await fast.stillHeld(), 'the fast run still holds its lock');
  await fast.release();
});

t.test('processes racing for one stale lock: exactly one holds it', async (t) => {
  const directory = await temporaryDirectory(t);
  const lockPath = join(directory, 'state.json.lock');
  await plantLock(lockPath, { pid: deadPid() });
  // Each child tries once, reports, and keeps what it got until every child has reported (stdin closes).
  const script = `const { acquireLock } = await import(${JSON.stringify(filesModule)});
    try { await acquireLock(${JSON.stringify(lockPath)}); process.stdout.write('won\\n'); }
    catch (error) { process.stdout.write((error.code ?? error.message) + '\\n'); }
    process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
  const children = Array.from({ length: 4 }, () =>
    spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const answers = await Promise.all(
    children.map(async (child) => {
      let text = '';
      child.stdout.setEncoding('utf8');
      for await (const chunk of child.stdout) {
        text += chunk;
        if (text.endsWith('\n')) break;
      }
      return text.trim();
    }),
  );
  for (const child of children) child.stdin.end();
  await Promise.all(children.map((child) => once(child, 'exit')));
  t.equal(answers.filter((answer) => answer === 'won').length, 1, `one winner: ${answers.join(', ')}`);
  t.equal(answers.filter((answer) => answer === 'locked').length, 3, 'the others were told it is locked');
});
