// The fast paths (stages fused into one loop, hashing on a worker thread) write the same NDJSON bytes and content hashes as the
// plain per-stage path; failures on the worker path end the run with nothing written.

import t from 'tap';
import { hash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import stableStringify from 'fast-json-stable-stringify';
import { generateWorkspace } from '../fixtures/slack-api/generator.js';
import { contentFields } from '../lib/content-hash.js';
import type { AnyDocument } from '../lib/documents.js';
import { pipeline } from '../lib/pipeline.js';
import { ndjsonSink } from '../lib/sinks/ndjson.js';
import { toChannelDocument, toMessageDocument, toUserDocument } from '../lib/sources/slack/to-documents.js';
import type { SinkContext, Stage } from '../lib/stage.js';
import { dedupe } from '../lib/transforms/dedupe.js';
import { enrich } from '../lib/transforms/enrich.js';
import { syncRules } from '../lib/transforms/sync-rules.js';
import { hashInWorker } from '../lib/transforms/worker-hash.js';

let generated: AnyDocument[] | undefined;

/**
 * Every document of a generated workspace as the Slack source converts it, some of them twice (in-run repeats). Built
 * once per file: every run reads clones of them.
 */
function workspaceDocuments(): AnyDocument[] {
  generated ??= convertWorkspace();
  return generated;
}

function convertWorkspace(): AnyDocument[] {
  // Enough documents that a failure at document 1,500 comes after batches already written (256 a batch, 4 in flight).
  const workspace = generateWorkspace({ size: 'small', seed: 17, messageCount: 1500 });
  const documents: AnyDocument[] = workspace.users.map((user) => toUserDocument(user));
  for (const channel of workspace.channels) documents.push(toChannelDocument(channel.info, workspace.team.url));
  for (const channel of workspace.channels) {
    for (const message of channel.messages) documents.push(toMessageDocument(message, channel.info, workspace.team.url));
    for (const replies of channel.replies.values())
      for (const reply of replies) documents.push(toMessageDocument(reply, channel.info, workspace.team.url));
  }
  // Text in every UTF-8 length class, and one line larger than the sink's 64 KB chunk.
  const message = documents.find((document) => document.type === 'message')!;
  const scripts = { ...structuredClone(message), _id: 'scripts', text: 'é € 漢字 😀 \ud800 "q" \t'.repeat(20) };
  const huge = { ...structuredClone(message), _id: 'huge', text: '😀€é ascii '.repeat(20_000) };
  return [...documents, scripts, huge, ...documents.slice(100, 160).map((document) => structuredClone(document))] as AnyDocument[];
}

async function* fresh(documents: AnyDocument[]): AsyncIterable<AnyDocument> {
  for (const document of documents) yield structuredClone(document);
}

/** The same stages, each hidden behind a plain function: pipeline() cannot fuse them and chains one async generator per stage. */
const unfused = <In, Out>(stage: Stage<In, Out>): Stage<In, Out> =>
  Object.assign((documents: AsyncIterable<In>) => stage(documents), { stageName: stage.stageName, stats: stage.stats });

const stagesFor = () => {
  // A seen store holding the hash of a few documents from "an earlier run": they must be left out by every path.
  const earlier = new Map<string, string>();
  return {
    stages: [
      enrich(),
      syncRules([{ id: 'no-bots', order: 1, policy: 'exclude', field: 'author_type', rule: 'equals', value: 'bot' }]),
      dedupe({ seen: { get: (id) => earlier.get(id) } }),
    ] as Stage<AnyDocument, AnyDocument>[],
    remember: (lines: string[]) => {
      for (const line of lines.slice(5, 25)) {
        const document = JSON.parse(line) as { _id: string; content_hash: string };
        earlier.set(document._id, document.content_hash);
      }
    },
  };
};

type Shape = 'plain' | 'fused' | 'worker';

async function run(documents: AnyDocument[], path: string, shape: Shape) {
  const { stages } = stagesFor();
  const chain = shape === 'plain' ? stages.map(unfused) : stages;
  const stats = await pipeline(fresh(documents), chain, ndjsonSink({ path }), { worker: shape === 'worker' });
  return { bytes: await readFile(path), stats };
}

// One run of each shape for the file: the first test compares them, the second starts from them.
let firstRuns: Promise<Record<Shape, Awaited<ReturnType<typeof run>>>> | undefined;
const runEachShapeOnce = () =>
  (firstRuns ??= (async () => {
    const directory = await mkdtemp(join(tmpdir(), 'slack-etl-fast-paths-'));
    t.teardown(() => rm(directory, { recursive: true, force: true }));
    const documents = workspaceDocuments();
    return {
      plain: await run(documents, join(directory, 'plain.ndjson'), 'plain'),
      fused: await run(documents, join(directory, 'fused.ndjson'), 'fused'),
      worker: await run(documents, join(directory, 'worker.ndjson'), 'worker'),
    };
  })());

t.test('fused stages and the worker thread write byte-identical NDJSON, same hashes and stats, as one generator per stage', async (t) => {
  const { plain, fused, worker } = await runEachShapeOnce();
  t.ok(plain.bytes.length > 100_000, `a real workspace's worth of output (${plain.bytes.length} bytes)`);
  t.ok(plain.bytes.equals(fused.bytes), 'fused: byte-identical output');
  t.ok(plain.bytes.equals(worker.bytes), 'worker thread: byte-identical output');
  for (const fast of [fused, worker]) {
    t.strictSame(fast.stats.documents, plain.stats.documents);
    t.strictSame(fast.stats.stages, plain.stats.stages);
  }
  t.ok((plain.stats.stages.dedupe as { duplicates: number }).duplicates >= 60, 'the repeats were dropped');

  // Independently of the sink's encoding: the bytes are the UTF-8 of lines each of which is JSON.stringify of itself.
  const text = plain.bytes.toString('utf8');
  t.ok(Buffer.from(text).equals(plain.bytes), 'valid UTF-8 throughout');
  const written = text.trimEnd().split('\n');
  t.equal(written.filter((line) => JSON.stringify(JSON.parse(line)) !== line).length, 0, 'every line is one JSON document as written');
  t.ok(
    written.some((line) => line.includes('漢字 😀') && line.startsWith('{')),
    'text in every script came through',
  );
  t.ok(
    written.some((line) => line.length > 200_000),
    'the line larger than a chunk came through whole',
  );

  // The hash of every written line is sha256 of stable-stringify of its content fields: the contract.
  const lines = fused.bytes.toString('utf8').trimEnd().split('\n');
  const wrong = lines.filter((line) => {
    const document = JSON.parse(line) as Record<string, unknown>;
    return document.content_hash !== hash('sha256', stableStringify(contentFields(document)), 'base64url');
  });
  t.equal(wrong.length, 0, `every content_hash is today's hash (${lines.length} lines)`);
});

t.test('documents unchanged since an earlier run are left out by the fast paths as by the plain one', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'slack-etl-fast-paths-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const documents = workspaceDocuments();
  const firsts = await runEachShapeOnce();
  const outputs: Buffer[] = [];
  for (const shape of ['plain', 'fused', 'worker'] as const) {
    const first = firsts[shape];
    const again = stagesFor();
    again.remember(first.bytes.toString('utf8').trimEnd().split('\n'));
    const path = join(directory, `${shape}-again.ndjson`);
    const chain = shape === 'plain' ? again.stages.map(unfused) : again.stages;
    const stats = await pipeline(fresh(documents), chain, ndjsonSink({ path }), { worker: shape === 'worker' });
    t.equal((stats.stages.dedupe as { unchanged: number }).unchanged, 20, `${shape}: 20 documents unchanged`);
    outputs.push(await readFile(path));
  }
  t.ok(outputs[0]!.equals(outputs[1]!) && outputs[0]!.equals(outputs[2]!), 'byte-identical output');
});

/** The workspace's documents, then `failure` after `after` of them (a document the worker cannot hash, or a source error). */
async function* failingAfter(documents: AnyDocument[], after: number, failure: () => AnyDocument): AsyncIterable<AnyDocument> {
  for (const [index, document] of documents.entries()) {
    if (index === after) yield failure();
    yield structuredClone(document);
  }
}

t.test('on the worker path a failure (in the worker thread, in the source) fails the run and leaves no output', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'slack-etl-fast-paths-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const documents = workspaceDocuments();
  const path = join(directory, 'out.ndjson');
  const failures: Array<[string, () => AnyDocument, RegExp]> = [
    // JSON cannot represent a BigInt: contentHash throws inside the worker thread, after earlier batches were written.
    ['worker', () => ({ ...documents[1500]!, reply_count: 10n }) as unknown as AnyDocument, /BigInt/],
    // A function cannot cross to the worker thread: the batch fails on this thread, after the batches before it.
    ['main thread', () => ({ ...documents[1500]!, reply_count: () => 10 }) as unknown as AnyDocument, /could not be cloned/],
    [
      'source',
      () => {
        throw new Error('Slack went away');
      },
      /Slack went away/,
    ],
  ];
  for (const [where, failure, expected] of failures) {
    const { stages } = stagesFor();
    await t.rejects(pipeline(failingAfter(documents, 1500, failure), stages, ndjsonSink({ path }), { worker: true }), expected, where);
    t.strictSame(await readdir(directory), [], `${where}: neither the output nor a partial file is left`);
  }
});

t.test('on the worker path a sink that stops reading early ends the run (the worker thread does not hold it open)', async (t) => {
  const documents = workspaceDocuments();
  const { stages } = stagesFor();
  const seen: string[] = [];
  const firstTen = async (input: AsyncIterable<AnyDocument>, context: SinkContext) => {
    for await (const document of input) {
      seen.push(context.lineOf?.(document) ?? 'no line');
      if (seen.length === 10) break;
    }
    return { read: seen.length };
  };
  const stats = await pipeline(fresh(documents), stages, firstTen, { worker: true });
  t.strictSame(stats.sink, { read: 10 });
  const { plain } = await runEachShapeOnce();
  t.strictSame(seen, plain.bytes.toString('utf8').split('\n').slice(0, 10), 'the sink got each line, as the plain path writes it');
});

t.test('on the worker path the source is read ahead while the sink waits, no further than the bound', async (t) => {
  const documents = workspaceDocuments().filter((document) => document.type !== 'tombstone');
  const batchSize = 8;
  const batchesInFlight = 2;
  let read = 0;
  async function* counted(failAfter = Infinity): AsyncIterable<AnyDocument> {
    for (const document of documents) {
      if (read === failAfter) throw new Error('Slack went away');
      read++;
      yield structuredClone(document);
    }
  }
  const settled = async () => {
    // Until the reading ahead has stopped growing for a while.
    for (let last = -1; last !== read; await new Promise((resolve) => setTimeout(resolve, 100))) last = read;
    return read;
  };

  const { stream } = hashInWorker(counted(), [], [], undefined, { batchSize, batchesInFlight });
  let readWhileWaiting = -1;
  let yielded = 0;
  for await (const document of stream) {
    t.ok(document.content_hash, 'each document comes back hashed');
    if (yielded++ === 0) readWhileWaiting = await settled();
    if (yielded === 3 * batchSize) break;
  }
  // The batch being handed to the sink, and a full window behind it.
  t.equal(readWhileWaiting, batchSize * (batchesInFlight + 1), 'read ahead while the sink waited on its first document, up to the bound');

  read = 0;
  const failing = hashInWorker(counted(20), [], [], undefined, { batchSize, batchesInFlight });
  const received: unknown[] = [];
  await t.rejects(
    (async () => {
      for await (const document of failing.stream) received.push(document);
    })(),
    /Slack went away/,
  );
  t.equal(received.length, 16, "a source's failure comes after the whole batches read before it");

  // A step's failure comes in turn too, and the source is closed, as for-await closes it when its body throws.
  read = 0;
  let closed = false;
  async function* closable(): AsyncIterable<AnyDocument> {
    try {
      yield* counted();
    } finally {
      closed = true;
    }
  }
  const failingStep = (document: AnyDocument) => {
    if (read === 20) throw new Error('a rule broke');
    return document;
  };
  const stepFailing = hashInWorker(closable(), [failingStep], [], undefined, { batchSize, batchesInFlight });
  received.length = 0;
  await t.rejects(
    (async () => {
      for await (const document of stepFailing.stream) received.push(document);
    })(),
    /a rule broke/,
  );
  t.equal(received.length, 16, "a step's failure comes after the whole batches read before it");
  t.ok(closed, 'the source was closed after the step failed');
});
