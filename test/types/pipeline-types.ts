// Compile-time proof that pipeline() types flow: each `@ts-expect-error` below must be an error, or `npm run typecheck` fails.

import { filter, map, take } from 'ix/asynciterable/operators';
import { from } from 'ix/asynciterable';
import { dedupe, enrich, ndjsonSink, pipeline, syncRules, type AnyDocument, type Sink, type SyncRule } from 'slack-etl';

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

// Library stages are ix operators as they are: `.pipe(...)` takes them with no wrapper, typed end to end.
export function ixPipes(): void {
  const rules: SyncRule[] = [];
  const piped: AsyncIterable<AnyDocument> = from(documents).pipe(enrich(), syncRules(rules), dedupe());
  const mixed: AsyncIterable<AnyDocument> = from(documents).pipe(enrich(), filter((document) => document.type === 'message'), dedupe());
  const messages = from(documents).pipe(take(3)).pipe(enrich());
  void [piped, mixed, messages];
  // @ts-expect-error a stage of numbers cannot take documents
  from(documents).pipe(enrich(), (numbers: AsyncIterable<number>) => numbers);
}
