// Compile-time proof that pipeline() types flow: each `@ts-expect-error` below must be an error, or `npm run typecheck` fails.

import { filter, map, take } from 'ix/asynciterable/operators';
import { dedupe, enrich, ndjsonSink, pipeline, type AnyDocument, type Sink } from 'slack-etl';

declare const documents: AsyncIterable<AnyDocument>;
declare const numberSink: Sink<number>;

export async function typedPipelines(): Promise<void> {
  // ix operators and unannotated generators take their input type from the stage before.
  await pipeline(documents, take(5), map((document) => document._id.length), numberSink);
  await pipeline(documents, filter((document) => document.type === 'user'), async function* (users) {
    for await (const user of users) yield { id: user._id, deleted: user.deleted };
  }, ndjsonSink());

  // @ts-expect-error a stage that wants numbers after a stage that yields documents
  await pipeline(documents, enrich(), async function* (numbers: AsyncIterable<number>) { yield* numbers; }, ndjsonSink());
  // @ts-expect-error a sink of numbers after documents
  await pipeline(documents, dedupe(), numberSink);
  // @ts-expect-error the ix operator's predicate sees documents, which have no `length`
  await pipeline(documents, filter((document) => document.length > 0), ndjsonSink());
}
