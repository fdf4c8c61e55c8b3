// What the CLI shows on stderr: a live progress line on a TTY and the closing summary.

import type { Writable } from 'node:stream';
import type { RunStats } from '../pipeline.js';
import { defineStage, type Stage } from '../stage.js';
import type { RunProgress } from '../progress.js';
import { describeWindow } from '../sources/slack/window.js';

const number = (value: unknown): number => (typeof value === 'number' ? value : 0);
const formatCount = (value: number): string => value.toLocaleString('en-US');

export interface ProgressDisplayOptions {
  stream: Writable & { columns?: number };
  /** A terminal gets one live line; anything else a log line every `intervalMs`. */
  tty: boolean;
  format: 'text' | 'json';
  intervalMs: number;
  progress: RunProgress;
  apiCalls: () => number;
  /** Slack methods held back by pacing or Retry-After, longest first. */
  waits: () => Array<{ method: string; waitMs: number }>;
  /** `sync`: documents go to Elasticsearch for indexing. */
  indexing?: boolean;
}

export interface ProgressDisplay {
  /** Pass-through stage counting the documents that reach the sink. */
  stage: Stage<unknown, unknown> & { stageName: string };
  /** Write a log line (a warning) above the live line, never into it. */
  writeAbove(line: string): void;
  stop(): void;
}

export const formatDuration = (ms: number): string => {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60
    ? `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`
    : `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
};

/** The progress figures at one moment, as the JSON progress object and the text line both show them. */
function progressFigures(options: ProgressDisplayOptions, documents: number, elapsedMs: number) {
  const snapshot = options.progress.snapshot();
  const wait = options.waits()[0];
  return {
    elapsedSeconds: Math.round(elapsedMs / 1000),
    documents,
    documentsPerSecond: elapsedMs > 0 ? Math.round((documents * 1000) / elapsedMs) : 0,
    ...snapshot,
    apiCalls: options.apiCalls(),
    waitingFor: wait ? { method: wait.method, seconds: Math.ceil(wait.waitMs / 1000) } : null,
  };
}

function progressText(figures: ReturnType<typeof progressFigures>, indexing: boolean, elapsedMs: number): string {
  const parts = [
    formatDuration(elapsedMs),
    `${formatCount(figures.documents)} documents${indexing ? ' to index' : ''} (${formatCount(figures.documentsPerSecond)}/s)`,
  ];
  if (figures.channelsSelected !== null) {
    const doneBefore = figures.channelsAlreadyDone > 0 ? ` (+${formatCount(figures.channelsAlreadyDone)} done before)` : '';
    parts.push(`channels ${formatCount(figures.channelsDone)}/${formatCount(figures.channelsSelected)}${doneBefore}`);
  }
  if (figures.repliesExpected > 0) parts.push(`replies ${formatCount(figures.repliesRead)}/${formatCount(figures.repliesExpected)}`);
  parts.push(`API calls ${formatCount(figures.apiCalls)}`);
  if (figures.waitingFor) parts.push(`waiting ${figures.waitingFor.seconds} s for Slack (${figures.waitingFor.method} rate limit)`);
  else if (figures.reading.length > 0) parts.push(`reading ${figures.reading.join(', ')}`);
  return parts.join(' · ');
}

/**
 * Progress on stderr: on a terminal one line redrawn four times a second (cut to the terminal width so it never
 * wraps), with log lines written above it; otherwise a text or JSON progress line every `intervalMs`.
 */
export function progressDisplay(options: ProgressDisplayOptions): ProgressDisplay {
  const started = performance.now();
  let documents = 0;
  let drawn = false;
  let stopped = false;
  const line = () => {
    const elapsedMs = performance.now() - started;
    return progressText(progressFigures(options, documents, elapsedMs), options.indexing === true, elapsedMs);
  };
  const draw = () => {
    const width = Math.max(20, (options.stream.columns ?? 120) - 1);
    const text = line();
    options.stream.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    drawn = true;
  };
  const clear = () => {
    if (drawn) options.stream.write('\r\x1b[K');
    drawn = false;
  };
  const logLine = () => {
    const elapsedMs = performance.now() - started;
    const figures = progressFigures(options, documents, elapsedMs);
    options.stream.write(
      (options.format === 'json'
        ? JSON.stringify({ time: new Date().toISOString(), level: 'info', event: 'progress', ...figures })
        : `progress: ${progressText(figures, options.indexing === true, elapsedMs)}`) + '\n',
    );
  };
  const timer = setInterval(options.tty ? draw : logLine, options.tty ? 250 : options.intervalMs);
  timer.unref();
  const stage = defineStage('progress', async function* countDocuments(input: AsyncIterable<unknown>) {
    for await (const document of input) {
      documents++;
      yield document;
    }
  });
  return {
    stage,
    writeAbove(text: string) {
      if (!options.tty || stopped) {
        options.stream.write(text + '\n');
        return;
      }
      clear();
      options.stream.write(text + '\n');
      draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (options.tty) clear();
    },
  };
}

/**
 * Every failed attempt the run recovered from: Slack 429s (Retry-After honoured) and retried calls (5xx, resets,
 * malformed bodies, timeouts), and Elasticsearch's re-sent requests and throttled documents.
 */
function faultsSurvived(api: Record<string, unknown>, sink: Record<string, unknown>): string {
  const slackRateLimited = number(api.rateLimited);
  const slackRetries = number(api.retries);
  const elasticsearchRetries = number(sink.retries);
  const total = slackRateLimited + slackRetries + elasticsearchRetries;
  const parts = [
    `Slack 429s ${formatCount(slackRateLimited)}`,
    `Slack retries ${formatCount(slackRetries)} (timeouts ${formatCount(number(api.timeouts))})`,
  ];
  if ('indexed' in sink) parts.push(`Elasticsearch retries ${formatCount(elasticsearchRetries)}`);
  return `  faults survived: ${formatCount(total)} (${parts.join(' · ')})`;
}

/** The closing summary: documents per type, filtered, deduplicated, API calls, 429s, time, and the sink's figures. */
export function formatSummary(verb: string, destination: string, stats: RunStats, window?: RunWindow): string {
  const types = Object.entries(stats.documents)
    .map(([type, count]) => `${formatCount(count)} ${type}${count === 1 ? '' : 's'}`)
    .join(', ');
  const total = Object.values(stats.documents).reduce((sum, count) => sum + count, 0);
  const rules = stats.stages.syncRules as Record<string, unknown> | undefined;
  const dedupe = stats.stages.dedupe as Record<string, unknown> | undefined;
  const api = (stats.source.api ?? {}) as Record<string, unknown>;
  const lines = [
    `${verb} ${formatCount(total)} documents${types ? ` (${types})` : ''} to ${destination} in ${(stats.elapsedMs / 1000).toFixed(1)} s`,
    `  filtered by rules: ${formatCount(number(rules?.excluded))} · deduplicated: ${formatCount(number(dedupe?.duplicates))} ` +
      `· unchanged: ${formatCount(number(dedupe?.unchanged))}`,
    ...(window ? [`  window: ${describeWindow(window)}`] : []),
    `  Slack API calls: ${formatCount(number(api.calls))} · 429s: ${formatCount(number(api.rateLimited))} · retries: ` +
      `${formatCount(number(api.retries))} · channels read: ${formatCount(number(stats.source.channelsRead))}, skipped: ` +
      `${formatCount(number(stats.source.channelsSkipped))}`,
  ];
  const sink = stats.sink;
  if ('indexed' in sink) {
    lines.push(
      `  Elasticsearch: indexed ${formatCount(number(sink.indexed))} · updated ${formatCount(number(sink.updated))} · ` +
        `unchanged ${formatCount(number(sink.unchanged))} · deleted ${formatCount(number(sink.deleted))} · dropped ` +
        `${formatCount(number(sink.dropped))}`,
    );
    if (number(sink.deletedGoneFromSlack) + number(sink.deletedExcludedByRules) + number(sink.staleDeletionSkippedChannels) > 0) {
      lines.push(
        `  --delete-stale: gone from Slack ${formatCount(number(sink.deletedGoneFromSlack))} · excluded by rules ` +
          `${formatCount(number(sink.deletedExcludedByRules))} · channels kept (returned no messages) ` +
          `${formatCount(number(sink.staleDeletionSkippedChannels))}`,
      );
    }
  }
  lines.push(faultsSurvived(api, sink));
  return lines.join('\n');
}

/** The effective message window of a run, in epoch milliseconds (null = open). */
export interface RunWindow {
  sinceMs: number | null;
  untilMs: number | null;
}

/** The closing summary as one JSON object (`--log-format json`): the same counters as the text summary. */
export function summaryObject(verb: string, destination: string, stats: RunStats, window?: RunWindow): Record<string, unknown> {
  const api = (stats.source.api ?? {}) as Record<string, unknown>;
  const rules = stats.stages.syncRules as Record<string, unknown> | undefined;
  const dedupe = stats.stages.dedupe as Record<string, unknown> | undefined;
  const { api: _api, ...source } = stats.source;
  return {
    time: new Date().toISOString(),
    level: 'info',
    event: 'summary',
    verb,
    destination,
    documents: stats.documents,
    totalDocuments: Object.values(stats.documents).reduce((sum, count) => sum + count, 0),
    filteredByRules: number(rules?.excluded),
    deduplicated: number(dedupe?.duplicates),
    unchanged: number(dedupe?.unchanged),
    window: window
      ? {
          since: window.sinceMs === null ? null : new Date(window.sinceMs).toISOString(),
          until: window.untilMs === null ? null : new Date(window.untilMs).toISOString(),
        }
      : null,
    slack: {
      calls: number(api.calls),
      rateLimited: number(api.rateLimited),
      retries: number(api.retries),
      timeouts: number(api.timeouts),
      callsByMethod: api.callsByMethod ?? {},
    },
    source,
    sink: stats.sink,
    elapsedSeconds: Math.round(stats.elapsedMs / 100) / 10,
  };
}
