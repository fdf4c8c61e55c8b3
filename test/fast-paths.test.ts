// The fast paths (stages fused into one loop) write the same NDJSON bytes and content hashes as the plain per-stage path.

import t from 'tap';
import { hash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import stableStringify from 'fast-json-stable-stringify';
import { generateWorkspace } from '../fixtures/slack-api/generator.js';
import { contentFields } from '../lib/content-hash.js';
import type { AnyDocument } from '../lib/documents.js';
import { pipeline, type PipelineOptions } from '../lib/pipeline.js';
import { ndjsonSink } from '../lib/sinks/ndjson.js';
import { toChannelDocument, toMessageDocument, toUserDocument } from '../lib/sources/slack/to-documents.js';
import type { Stage } from '../lib/stage.js';
import { dedupe } from '../lib/transforms/dedupe.js';
import { enrich } from '../lib/transforms/enrich.js';
import { syncRules } from '../lib/transforms/sync-rules.js';

/** Every document of a generated workspace as the Slack source converts it, some of them twice (in-run repeats). */
function workspaceDocuments(): AnyDocument[] {
  const workspace = generateWorkspace({ size: 'small', seed: 17 });
  const documents: AnyDocument[] = workspace.users.map((user) => toUserDocument(user));
  for (const channel of workspace.channels) documents.push(toChannelDocument(channel.info, workspace.team.url));
  for (const channel of workspace.channels) {
    for (const message of channel.messages) documents.push(toMessageDocument(message, channel.info, workspace.team.url));
    for (const replies of channel.replies.values())
      for (const reply of replies) documents.push(toMessageDocument(reply, channel.info, workspace.team.url));
  }
  return [...documents, ...documents.slice(100, 160).map((document) => structuredClone(document))];
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

async function run(documents: AnyDocument[], path: string, shape: 'plain' | 'fused', options: PipelineOptions = {}) {
  const { stages } = stagesFor();
  const chain = shape === 'plain' ? stages.map(unfused) : stages;
  const stats = await pipeline(fresh(documents), chain, ndjsonSink({ path }), options);
  return { bytes: await readFile(path), stats };
}

t.test('fused stages write byte-identical NDJSON, with the same content hashes and stats, as one generator per stage', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'slack-etl-fast-paths-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const documents = workspaceDocuments();
  const plain = await run(documents, join(directory, 'plain.ndjson'), 'plain');
  const fused = await run(documents, join(directory, 'fused.ndjson'), 'fused');
  t.ok(plain.bytes.length > 100_000, `a real workspace's worth of output (${plain.bytes.length} bytes)`);
  t.ok(plain.bytes.equals(fused.bytes), 'byte-identical output');
  t.strictSame(fused.stats.documents, plain.stats.documents);
  t.strictSame(fused.stats.stages, plain.stats.stages);
  t.ok((plain.stats.stages.dedupe as { duplicates: number }).duplicates >= 60, 'the repeats were dropped');

  // The hash of every written line is sha256 of stable-stringify of its content fields: the contract.
  const lines = fused.bytes.toString('utf8').trimEnd().split('\n');
  const wrong = lines.filter((line) => {
    const document = JSON.parse(line) as Record<string, unknown>;
    return document.content_hash !== hash('sha256', stableStringify(contentFields(document)), 'base64url');
  });
  t.equal(wrong.length, 0, `every content_hash is today's hash (${lines.length} lines)`);
});

t.test('documents unchanged since an earlier run are left out by the fused path as by the plain one', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'slack-etl-fast-paths-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const documents = workspaceDocuments();
  const outputs: Buffer[] = [];
  for (const shape of ['plain', 'fused'] as const) {
    const first = await run(documents, join(directory, `${shape}-first.ndjson`), shape);
    const again = stagesFor();
    again.remember(first.bytes.toString('utf8').trimEnd().split('\n'));
    const path = join(directory, `${shape}-again.ndjson`);
    const stats = await pipeline(fresh(documents), shape === 'plain' ? again.stages.map(unfused) : again.stages, ndjsonSink({ path }));
    t.equal((stats.stages.dedupe as { unchanged: number }).unchanged, 20, `${shape}: 20 documents unchanged`);
    outputs.push(await readFile(path));
  }
  t.ok(outputs[0]!.equals(outputs[1]!), 'byte-identical output');
});
