// The SQLite state store: migration of a version-1 JSON state (written by slack-etl 0.1's code), one writer at a time, private files, and
// checkpoints that cost what changed.

import t from 'tap';
import { copyFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateStore } from '../lib/state/store.js';
import { ConfigError } from '../lib/errors.js';
import { hashedMessage } from './helpers/documents.js';
import { readState } from './helpers/state.js';
import { temporaryDirectory } from './helpers/slack.js';
import { repositoryPath } from './helpers/paths.js';

const v1Fixture = repositoryPath('fixtures/state/v1-general.json');

async function drain<T>(iterable: AsyncIterable<T>): Promise<void> {
  for await (const _ of iterable) void _;
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

t.test('a version-1 JSON state is migrated on first use: every document, reply, thread and channel checkpoint kept', async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, 'state.json');
  await copyFile(v1Fixture, path);
  const v1 = JSON.parse(await readFile(v1Fixture, 'utf8'));
  t.equal(v1.version, 1);

  const store = await StateStore.open(path);
  t.strictSame(store.team, v1.team, 'the team is read before anything is written');
  t.equal(await readFile(path, 'utf8'), await readFile(v1Fixture, 'utf8'), 'opening alone leaves the file as it was');
  await store.bindTeam(v1.team);
  for (const [id, hash] of Object.entries(v1.documents as Record<string, string>))
    if (store.get(id) !== hash) t.fail(`document ${id} lost its hash`);
  for (const [channel, threads] of Object.entries(
    v1.threads as Record<string, Record<string, { latestReply: string | null; replyCount: number }>>,
  )) {
    for (const [ts, thread] of Object.entries(threads)) t.strictSame(store.storedThread(channel, ts), thread, `thread ${ts}`);
  }
  store.close();

  const snapshot = readState(path);
  t.equal(snapshot.version, 2);
  t.strictSame(snapshot.documents, v1.documents, 'all documents with their hashes');
  t.strictSame(snapshot.replies, v1.replies, 'replies still told from top-level messages');
  t.equal((await stat(path)).mode & 0o777, 0o600, 'the migrated state is private');
  t.strictSame(await readdir(directory), ['state.json'], 'no temporary file left');
});

t.test('a version-1 state of another team is refused and left byte for byte', async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, 'state.json');
  await copyFile(v1Fixture, path);
  const store = await StateStore.open(path);
  await t.rejects(store.bindTeam({ id: 'T0OTHER', url: null }), { code: 'state_foreign' });
  store.close();
  t.equal(await readFile(path, 'utf8'), await readFile(v1Fixture, 'utf8'));
});

t.test('one writer at a time: a second store on the same file is refused, naming the holder', async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, 'state.json');
  const first = await StateStore.open(path);
  await first.bindTeam({ id: 'T1', url: null });
  t.equal((await stat(path)).mode & 0o777, 0o600, 'created private');
  await t.rejects(StateStore.open(path), { code: 'locked', message: /the state file .*state\.json is in use by another process/ });
  await writeFile(`${path}.lock`, JSON.stringify({ pid: 4242, host: 'build-7', since: '2026-11-27T10:00:00.000Z', token: 'x' }));
  const refused = await StateStore.open(path).catch((error: unknown) => error);
  t.ok(refused instanceof ConfigError, 'a configuration error (exit 2)');
  t.match((refused as Error).message, /in use by another slack-etl run \(pid 4242 on build-7, since 2026-11-27T10:00:00.000Z\)/);
  first.close();
  const again = await StateStore.open(path);
  t.equal(again.team?.id, 'T1', 'free again once the first is closed');
  again.close();
});

t.test('committed documents and channel checkpoints are saved in one transaction; uncommitted ones never', async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, 'state.json');
  const store = await StateStore.open(path);
  await store.bindTeam({ id: 'T1', url: null });
  const messages = Array.from({ length: 5 }, (_, index) => hashedMessage('C1', `170000000${index}.000100`));
  const parent = { ts: messages[0]!.ts, state: { latestReply: '1700000009.000100', replyCount: 2 }, read: true };
  store.noteRead(
    messages.map((message) => message._id),
    [{ channel: 'C1', ...parent }],
  );
  await drain(store.track()(from(messages)));
  store.channelDone('C1', messages.at(-1)!.ts, true);
  store.commit(3);
  await store.save();
  // Refused at once rather than after SQLite's busy timeout: the run holds the lock until it closes the store.
  t.throws(
    () => readState(path, { busyTimeoutMs: 0 }),
    { code: 'SQLITE_BUSY' },
    'another connection cannot even read the state while a run holds it',
  );
  t.equal(store.storedThread('C1', parent.ts), undefined, 'the channel checkpoint waits for all of its documents');
  store.commit();
  await store.save();
  t.strictSame(store.storedThread('C1', parent.ts), parent.state, 'then it is recorded');
  store.close();
  t.strictSame(Object.keys(readState(path).documents).sort(), messages.map((message) => message._id).sort());
});

t.test('a save costs what changed: the same number of new documents takes the same work on a small and a large state', async (t) => {
  const directory = await temporaryDirectory(t);
  const pagesWritten = async (existing: number): Promise<number> => {
    const path = join(directory, `state-${existing}.json`);
    const store = await StateStore.open(path);
    await store.bindTeam({ id: 'T1', url: null });
    const batch = 2000;
    for (let offset = 0; offset < existing; offset += batch) {
      await drain(
        store.track()(
          from(
            Array.from({ length: Math.min(batch, existing - offset) }, (_, index) =>
              hashedMessage('C1', `${1600000000 + offset + index}.000100`),
            ),
          ),
        ),
      );
      store.commit();
      await store.save();
    }
    // Start the journal empty, so its size after the save is what the save wrote.
    (store as unknown as { database: { pragma(text: string): unknown } }).database.pragma('wal_checkpoint(TRUNCATE)');
    const before = (await stat(`${path}-wal`)).size;
    await drain(store.track()(from(Array.from({ length: 100 }, (_, index) => hashedMessage('C2', `${1700000000 + index}.000100`)))));
    store.commit();
    await store.save();
    const written = (await stat(`${path}-wal`)).size - before;
    store.close();
    return written;
  };
  const small = await pagesWritten(1_000);
  const large = await pagesWritten(20_000);
  t.ok(small > 0 && large <= small * 1.5 + 8192, `bytes journalled for 100 new documents: ${small} on a 1k state, ${large} on a 20k state`);
});
