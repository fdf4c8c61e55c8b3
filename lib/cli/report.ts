// What the CLI shows on stderr: a live progress line on a TTY and the closing summary.

import type { Writable } from 'node:stream';
import type { RunStats } from '../pipeline.js';
import type { Stage } from '../stage.js';

const number = (value: unknown): number => (typeof value === 'number' ? value : 0);
const formatCount = (value: number): string => value.toLocaleString('en-US');

/** A pass-through stage that redraws one status line on `stream` at most every 200 ms. */
export function progressLine(stream: Writable, apiCalls: () => number): Stage<{ type?: string }, { type?: string }> & { stop(): void } {
  const counts: Record<string, number> = {};
  let lastDraw = 0;
  let drawn = false;
  const draw = () => {
    const parts = Object.entries(counts).map(([type, count]) => `${type}s ${formatCount(count)}`);
    stream.write(`\r\x1b[K${parts.join(' · ') || 'starting'} · Slack API calls ${formatCount(apiCalls())}`);
    drawn = true;
  };
  const stage = async function* (documents: AsyncIterable<{ type?: string }>) {
    for await (const document of documents) {
      const type = document.type ?? 'other';
      counts[type] = (counts[type] ?? 0) + 1;
      const now = performance.now();
      if (now - lastDraw > 200) {
        lastDraw = now;
        draw();
      }
      yield document;
    }
  };
  return Object.assign(stage, {
    stop() {
      if (drawn) stream.write('\r\x1b[K');
    },
  });
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
  const parts = [`Slack 429s ${formatCount(slackRateLimited)}`, `Slack retries ${formatCount(slackRetries)} (timeouts ${formatCount(number(api.timeouts))})`];
  if ('indexed' in sink) parts.push(`Elasticsearch retries ${formatCount(elasticsearchRetries)}`);
  return `  faults survived: ${formatCount(total)} (${parts.join(' · ')})`;
}

/** The closing summary: documents per type, filtered, deduplicated, API calls, 429s, time, and the sink's figures. */
export function formatSummary(verb: string, destination: string, stats: RunStats): string {
  const types = Object.entries(stats.documents)
    .map(([type, count]) => `${formatCount(count)} ${type}${count === 1 ? '' : 's'}`)
    .join(', ');
  const total = Object.values(stats.documents).reduce((sum, count) => sum + count, 0);
  const rules = stats.stages.syncRules as Record<string, unknown> | undefined;
  const dedupe = stats.stages.dedupe as Record<string, unknown> | undefined;
  const api = (stats.source.api ?? {}) as Record<string, unknown>;
  const lines = [
    `${verb} ${formatCount(total)} documents${types ? ` (${types})` : ''} to ${destination} in ${(stats.elapsedMs / 1000).toFixed(1)} s`,
    `  filtered by rules: ${formatCount(number(rules?.excluded))} · deduplicated: ${formatCount(number(dedupe?.duplicates))} · unchanged: ${formatCount(number(dedupe?.unchanged))}`,
    `  Slack API calls: ${formatCount(number(api.calls))} · 429s: ${formatCount(number(api.rateLimited))} · retries: ${formatCount(number(api.retries))} · channels read: ${formatCount(number(stats.source.channelsRead))}, skipped: ${formatCount(number(stats.source.channelsSkipped))}`,
  ];
  const sink = stats.sink;
  if ('indexed' in sink) {
    lines.push(
      `  Elasticsearch: indexed ${formatCount(number(sink.indexed))} · updated ${formatCount(number(sink.updated))} · unchanged ${formatCount(number(sink.unchanged))} · deleted ${formatCount(number(sink.deleted))} · dropped ${formatCount(number(sink.dropped))}`,
    );
    if (number(sink.deletedGoneFromSlack) + number(sink.deletedExcludedByRules) + number(sink.staleDeletionSkippedChannels) > 0) {
      lines.push(
        `  --delete-stale: gone from Slack ${formatCount(number(sink.deletedGoneFromSlack))} · excluded by rules ${formatCount(number(sink.deletedExcludedByRules))} · channels kept (returned no messages) ${formatCount(number(sink.staleDeletionSkippedChannels))}`,
      );
    }
  }
  lines.push(faultsSurvived(api, sink));
  return lines.join('\n');
}
