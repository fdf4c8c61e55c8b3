// The Slack object a document was made from, carried beside it (under a symbol) for formats that write Slack's own objects.

import { defineStage, type Stage } from './stage.js';

type Raw = Record<string, any>;

/**
 * A symbol key: JSON.stringify, the content hash and sync rules only see string keys, so a document that carries
 * its Slack object serialises, hashes and filters exactly like one that does not.
 */
export const slackObject: unique symbol = Symbol.for('slack-etl.slackObject');

export interface WithSlackObject {
  [slackObject]?: Raw;
}

export function attachSlackObject<T extends object>(document: T, raw: Raw): T {
  (document as WithSlackObject)[slackObject] = raw;
  return document;
}

export const slackObjectOf = (document: object): Raw | undefined => (document as WithSlackObject)[slackObject];

/**
 * Runs a stage that rebuilds documents (enrich writes new objects) and puts each input's Slack object back on the
 * output with the same `_id`. The stage must keep order and may drop documents (none is ever added).
 */
export function keepingSlackObjects<In extends { _id: string }, Out extends { _id: string }>(stage: Stage<In, Out>): Stage<In, Out> {
  return defineStage(
    stage.stageName ?? 'stage',
    async function* (documents: AsyncIterable<In>) {
      const pending: Array<{ id: string; raw: Raw | undefined }> = [];
      async function* remember() {
        for await (const document of documents) {
          pending.push({ id: document._id, raw: slackObjectOf(document) });
          yield document;
        }
      }
      for await (const output of stage(remember())) {
        // Dropped inputs sit before the match: discard them.
        let entry = pending.shift();
        while (entry !== undefined && entry.id !== output._id) entry = pending.shift();
        if (entry?.raw !== undefined) attachSlackObject(output, entry.raw);
        yield output;
      }
    },
    stage.stats,
  );
}
