// The shapes that compose: a stage maps one async iterable to another; a sink consumes one and reports.

import type { DocumentStep } from './document-step.js';
import type { Logger } from './log.js';

/**
 * What the generic core (pipeline, dedupe, generic sinks) needs of a document, whatever its source: an `_id`, a `type`
 * (`tombstone` marks a deletion) and room for the content hash. Each source's own types live in its folder.
 */
export type CoreDocument = { _id: string; type: string; content_hash?: string };

/** Counters a component reports; nested objects allowed (e.g. per-rule matches). */
export type ComponentStats = Record<string, unknown>;

/**
 * A stage is a plain function `AsyncIterable<In> → AsyncIterable<Out>`, so it works in `for await`,
 * in ix's `.pipe(...)` and in `pipeline(...)`. A stage may expose `stats()`; `pipeline` collects it under `stageName`.
 */
export interface Stage<In, Out> {
  (source: AsyncIterable<In>): AsyncIterable<Out>;
  stageName?: string;
  stats?: () => ComponentStats;
  /** The same stage one document at a time (see document-step.ts): pipeline() runs consecutive ones in one loop. */
  step?: DocumentStep<In, Out>;
  /** A hashing stage's step for documents whose `content_hash` a worker thread already set (pipeline's `worker`). */
  hashedStep?: DocumentStep<In, Out>;
  /** A stage that writes each document's JSON line as it goes (dedupe): the line of the document it emitted last. */
  lineOf?: (document: object) => string | undefined;
}

/** A stage that passes any document type through unchanged in type (dedupe): typed by whatever comes before it. */
export interface PassThroughStage<Constraint> {
  <Document extends Constraint>(source: AsyncIterable<Document>): AsyncIterable<Document>;
  stageName: string;
  stats?: () => ComponentStats;
  step?: DocumentStep<any, any>;
  hashedStep?: DocumentStep<any, any>;
  lineOf?: (document: object) => string | undefined;
}

/** A stage with its name (the key of its counters in the run's statistics). */
export type NamedStage<In, Out> = Stage<In, Out> & { stageName: string };

/** The one way to build a stage: `transform` runs per run; `stats` reports its counters (pipeline collects them). */
export function defineStage<In, Out>(
  name: string,
  transform: (source: AsyncIterable<In>) => AsyncIterable<Out>,
  stats?: () => ComponentStats,
): NamedStage<In, Out> {
  const stage = (source: AsyncIterable<In>) => transform(source);
  return Object.assign(stage, { stageName: name }, stats ? { stats } : {});
}

/** What a source knows at the end of a run that a sink needs to decide about deletions. */
export interface SourceReport {
  /** Channels whose history (and threads) were read completely in this run. */
  completeChannels: string[];
  /** Channels that were selected but could not be read (not joined, errors). */
  skippedChannels: string[];
  /** Oldest boundary of the window in the source's own position format (whole seconds), or null for all history. */
  windowOldest: string | null;
  /** Newest boundary of the window (inclusive), same format, or null for up to now. */
  windowLatest?: string | null;
  /** True when every selected channel was read completely. */
  complete: boolean;
  /**
   * True when the replies of every thread of the complete channels were read (not `--no-threads`, not skipped as
   * unchanged): only then may a reply missing from the run be taken as deleted. Absent means false.
   */
  threadsRead?: boolean;
}

/** A source is an async iterable that can report what it read. */
export interface Source<Out> extends AsyncIterable<Out> {
  sourceName?: string;
  stats?: () => ComponentStats;
  report?: () => SourceReport;
}

export interface SinkContext {
  logger: Logger;
  /** Available once the source is exhausted: what it read completely. */
  sourceReport: () => SourceReport | undefined;
  signal?: AbortSignal;
  /**
   * The JSON line (`JSON.stringify`) of the document the sink received last, when a stage already wrote it (dedupe,
   * or the hashing worker thread of pipeline's `worker`); undefined otherwise. A sink writing JSON lines may use it
   * instead of serialising.
   */
  lineOf?: (document: object) => string | undefined;
  /**
   * The same line already encoded as UTF-8 (the hashing worker thread encodes its lines); undefined otherwise. A sink
   * writing bytes may copy these instead of encoding the line.
   */
  lineBytesOf?: (document: object) => Uint8Array | undefined;
}

/** A sink consumes documents and resolves with its statistics once everything is durably written. */
export interface Sink<In> {
  (documents: AsyncIterable<In>, context: SinkContext): Promise<ComponentStats>;
  sinkName?: string;
}

/** The one way to build a sink: `write` consumes the documents and resolves with the sink's statistics. */
export function defineSink<In, Stats extends ComponentStats = ComponentStats>(
  name: string,
  write: (documents: AsyncIterable<In>, context: SinkContext) => Promise<Stats>,
): Sink<In> & { sinkName: string } {
  const sink = (documents: AsyncIterable<In>, context: SinkContext) => write(documents, context);
  return Object.assign(sink, { sinkName: name });
}
