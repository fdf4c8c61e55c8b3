// pipeline(source, ...stages, sink): runs a source through stages into a sink and returns run statistics.

import type { ComponentStats, Sink, SinkContext, Source, SourceReport, Stage } from './stage.js';
import { silentLogger, type Logger } from './log.js';

export interface PipelineOptions {
  logger?: Logger;
  signal?: AbortSignal;
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

function isOptions(value: unknown): value is PipelineOptions {
  return typeof value === 'object' && value !== null && typeof value !== 'function';
}

export async function pipeline<T>(source: Source<T> | AsyncIterable<T>, ...rest: Array<AnyStage | Sink<any> | PipelineOptions>): Promise<RunStats> {
  const started = performance.now();
  const options: PipelineOptions = isOptions(rest.at(-1)) ? (rest.pop() as PipelineOptions) : {};
  const sink = rest.pop() as Sink<any> | undefined;
  if (typeof sink !== 'function') throw new TypeError('pipeline(source, ...stages, sink): the last argument must be a sink');
  const stages = rest as AnyStage[];

  let stream: AsyncIterable<unknown> = source;
  for (const stage of stages) stream = stage(stream);

  const documents: Record<string, number> = {};
  async function* countByType(input: AsyncIterable<unknown>) {
    for await (const document of input) {
      const type = (document as { type?: string }).type ?? 'other';
      documents[type] = (documents[type] ?? 0) + 1;
      yield document;
    }
  }

  const typedSource = source as Source<T>;
  let sourceDone = false;
  async function* markSourceDone(input: AsyncIterable<unknown>) {
    yield* input;
    sourceDone = true;
  }
  const context: SinkContext = {
    logger: options.logger ?? silentLogger,
    signal: options.signal,
    sourceReport: () => (sourceDone ? typedSource.report?.() : undefined),
  };
  const sinkStats = await sink(markSourceDone(countByType(stream)), context);

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
