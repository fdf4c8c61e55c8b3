// Checkpoint cost vs state size, and the tombstone bookkeeping of an unchanged incremental run, for a state of N documents.
// One process per size (its RSS is its own): fill the state, then time checkpoints of 1,000 changed documents and one
// unchanged run's bookkeeping (every id noted page by page, the missing-message scan, the forget).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyDocument, MessageDocument } from '../lib/documents.js';
import { StateStore } from '../lib/state/store.js';
import { figureArguments, reportResult, round, rssMb } from './common.js';

const { values } = figureArguments({ documents: { type: 'string' } });
const count = Number(values.documents ?? 10_000);
const channelId = 'CBIG';
const changedPerCheckpoint = 1_000;
const checkpoints = 7;
const pageSize = 999;
const tsOf = (position: number): string => `${1_600_000_000 + position}.000100`;

function message(position: number, version: number): MessageDocument {
  const ts = tsOf(position);
  const id = `${channelId}-${ts}`;
  return { _id: id, id, type: 'message', ts, content_hash: `h${version}-${position}` } as MessageDocument;
}

async function drain(store: StateStore, documents: Iterable<AnyDocument>): Promise<void> {
  const source = (async function* () {
    yield* documents;
  })();
  for await (const document of store.track()(source)) void document;
  store.commit();
  await store.save();
}

function* range(from: number, to: number, version: number): Generator<AnyDocument> {
  for (let position = from; position < to; position++) yield message(position, version);
}

const median = (values: number[]): number => [...values].sort((left, right) => left - right)[Math.floor(values.length / 2)]!;
const directory = await mkdtemp(join(tmpdir(), 'slack-etl-checkpoint-'));
try {
  const store = await StateStore.open(join(directory, 'state.db'));
  await store.bindTeam({ id: 'T1', url: null });
  const filling = performance.now();
  await drain(store, range(0, count, 0));
  const fillSeconds = round((performance.now() - filling) / 1000, 2);
  const rssFilled = rssMb();

  const checkpointMs: number[] = [];
  for (let round = 1; round <= checkpoints; round++) {
    const from = ((round * 7919) % Math.max(1, count - changedPerCheckpoint)) | 0;
    const documents = [...range(from, from + changedPerCheckpoint, round)];
    const started = performance.now();
    await drain(store, documents);
    checkpointMs.push(performance.now() - started);
  }
  const rssAfterCheckpoints = rssMb();

  // An unchanged run: every id of the channel noted a page at a time, then the scan for missing ones (none).
  const bookkeeping = performance.now();
  for (let from = 0; from < count; from += pageSize) {
    const ids: string[] = [];
    for (let position = from; position < Math.min(count, from + pageSize); position++) ids.push(message(position, 0)._id);
    store.noteRead(ids, []);
  }
  const missing = store.missingMessages(channelId, '', 1000).length;
  store.forgetSeen(channelId);
  const bookkeepingMs = performance.now() - bookkeeping;
  store.close();
  reportResult({
    documents: count,
    fillSeconds,
    changedPerCheckpoint,
    checkpointMedianMs: round(median(checkpointMs), 1),
    checkpointMaxMs: round(Math.max(...checkpointMs), 1),
    tombstoneBookkeepingSeconds: round(bookkeepingMs / 1000, 2),
    tombstoneBookkeepingMicrosPerMessage: round((bookkeepingMs * 1000) / count, 2),
    missingFound: missing,
    rssFilledMb: rssFilled,
    rssAfterCheckpointsMb: rssAfterCheckpoints,
    rssEndMb: rssMb(),
  });
} finally {
  await rm(directory, { recursive: true, force: true });
}
