// pipeline(source, ...stages, sink): runs a source through stages into a sink and returns run statistics.

import type { ComponentStats, Sink, SinkContext, Source, SourceReport, Stage } from './stage.js';
import { fuseStages, runSteps } from './document-step.js';
import { hashInWorker } from './transforms/worker-hash.js';
import { silentLogger, type Logger } from './log.js';

export interface PipelineOptions {
  logger?: Logger;
  signal?: AbortSignal;
  /**
   * Hash and serialise on a worker thread (a second core): when the last stage hashes (dedupe) and every stage before
   * it works per document, documents go to the worker in batches and come back in order with today's content hash and
   * their JSON line, which a JSON-lines sink writes as it is. Same output bytes; off by default.
   */
  worker?: boolean;
}

export interface RunStats {
  /** Documents that reached the sink, per `type`. */
  documents: Record<string, number>;
  source: ComponentStats;
  stages: Record<string, ComponentStats>;
  sink: ComponentStats;
  report: SourceReport | undefined;
  elapsedMs: number;
}

type AnyStage = Stage<any, any>;
/** What pipeline() reads from: a Source (with stats and a report) or any async iterable. */
type From<T> = Source<T> | AsyncIterable<T>;
/** A stage as pipeline() takes it: any function from one async iterable to another (library stages, ix operators, async generators). */
type Step<In, Out> = (source: AsyncIterable<In>) => AsyncIterable<Out>;

function isOptions(value: unknown): value is PipelineOptions {
  return typeof value === 'object' && value !== null && typeof value !== 'function';
}

// Overloads carry the types: each stage's input is the previous output, so an unannotated `async function* (documents)`
// or an ix operator (`filter`, `take`) is typed from the stage before it. The runtime below stays one loose signature.
export function pipeline<A>(source: From<A>, sink: Sink<A>, options?: PipelineOptions): Promise<RunStats>;
export function pipeline<A, B>(source: From<A>, s1: Step<A, B>, sink: Sink<B>, options?: PipelineOptions): Promise<RunStats>;
export function pipeline<A, B, C>(
  source: From<A>,
  s1: Step<A, B>,
  s2: Step<B, C>,
  sink: Sink<C>,
  options?: PipelineOptions,
): Promise<RunStats>;
export function pipeline<A, B, C, D>(
  source: From<A>,
  s1: Step<A, B>,
  s2: Step<B, C>,
  s3: Step<C, D>,
  sink: Sink<D>,
  options?: PipelineOptions,
): Promise<RunStats>;
export function pipeline<A, B, C, D, E>(
  source: From<A>,
  s1: Step<A, B>,
  s2: Step<B, C>,
  s3: Step<C, D>,
  s4: Step<D, E>,
  sink: Sink<E>,
  options?: PipelineOptions,
): Promise<RunStats>;
export function pipeline<A, B, C, D, E, F>(
  source: From<A>,
  s1: Step<A, B>,
  s2: Step<B, C>,
  s3: Step<C, D>,
  s4: Step<D, E>,
  s5: Step<E, F>,
  sink: Sink<F>,
  options?: PipelineOptions,
): Promise<RunStats>;
export function pipeline<A, B, C, D, E, F, G>(
  source: From<A>,
  s1: Step<A, B>,
  s2: Step<B, C>,
  s3: Step<C, D>,
  s4: Step<D, E>,
  s5: Step<E, F>,
  s6: Step<F, G>,
  sink: Sink<G>,
  options?: PipelineOptions,
): Promise<RunStats>;
export function pipeline<A, B, C, D, E, F, G, H>(
  source: From<A>,
  s1: Step<A, B>,
  s2: Step<B, C>,
  s3: Step<C, D>,
  s4: Step<D, E>,
  s5: Step<E, F>,
  s6: Step<F, G>,
  s7: Step<G, H>,
  sink: Sink<H>,
  options?: PipelineOptions,
): Promise<RunStats>;
export function pipeline<A, B, C, D, E, F, G, H, I>(
  source: From<A>,
  s1: Step<A, B>,
  s2: Step<B, C>,
  s3: Step<C, D>,
  s4: Step<D, E>,
  s5: Step<E, F>,
  s6: Step<F, G>,
  s7: Step<G, H>,
  s8: Step<H, I>,
  sink: Sink<I>,
  options?: PipelineOptions,
): Promise<RunStats>;
/** Stages built at run time, as one array (a list whose length the types cannot know): checked only as any-to-any. */
export function pipeline(source: From<unknown>, stages: readonly AnyStage[], sink: Sink<any>, options?: PipelineOptions): Promise<RunStats>;
export async function pipeline<T>(
  source: From<T>,
  ...parts: Array<AnyStage | readonly AnyStage[] | Sink<any> | PipelineOptions | undefined>
): Promise<RunStats> {
  const started = performance.now();
  const rest = parts.flat();
  if (rest.length > 0 && rest.at(-1) === undefined) rest.pop();
  const options: PipelineOptions = isOptions(rest.at(-1)) ? (rest.pop() as PipelineOptions) : {};
  const sink = rest.pop() as Sink<any> | undefined;
  if (typeof sink !== 'function') throw new TypeError('pipeline(source, ...stages, sink): the last argument must be a sink');
  const stages = rest as AnyStage[];

  const documents: Record<string, number> = {};
  const countByType = (document: unknown) => {
    const type = (document as { type?: string }).type ?? 'other';
    documents[type] = (documents[type] ?? 0) + 1;
    return document;
  };
  const typedSource = source as Source<T>;
  let sourceDone = false;
  const context: SinkContext = {
    logger: options.logger ?? silentLogger,
    signal: options.signal,
    sourceReport: () => (sourceDone ? typedSource.report?.() : undefined),
  };
  const markSourceDone = () => (sourceDone = true);
  // Stages with a per-document step run fused in one loop with the counting (see document-step.ts).
  let stream: AsyncIterable<unknown>;
  const hashing = stages.at(-1)?.hashedStep;
  const { stream: fused, steps } = fuseStages(source, options.worker && hashing ? stages.slice(0, -1) : stages);
  if (options.worker && hashing) {
    const offloaded = hashInWorker(fused, steps, [hashing, countByType], markSourceDone);
    stream = offloaded.stream;
    context.lineOf = offloaded.lineOf;
    context.lineBytesOf = offloaded.lineBytesOf;
  } else {
    stream = runSteps(fused, [...steps, countByType], markSourceDone);
    // The last stage's line is the sink's only when nothing but counting runs between them (its step is fused last).
    const last = stages.at(-1);
    if (last?.step && last.lineOf) context.lineOf = last.lineOf;
  }
  const sinkStats = await sink(stream, context);

  const stageStats: Record<string, ComponentStats> = {};
  stages.forEach((stage, index) => {
    if (stage.stats) stageStats[stage.stageName ?? `stage${index + 1}`] = stage.stats();
  });
  return {
    documents,
    source: typedSource.stats?.() ?? {},
    stages: stageStats,
    sink: sinkStats,
    report: sourceDone ? typedSource.report?.() : undefined,
    elapsedMs: Math.round(performance.now() - started),
  };
}
