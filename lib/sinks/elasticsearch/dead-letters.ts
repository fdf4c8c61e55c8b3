// Dead letters: documents the cluster rejected for good, appended to an NDJSON file and named in the log (the first few).

import type { WriteStream } from 'node:fs';
import { once } from 'node:events';
import { RunError } from '../../errors.js';
import { appendStream } from '../../files.js';
import type { Logger } from '../../log.js';
import type { BulkEntry, ItemError } from './bulk-writer.js';
import { sanitize } from './connection.js';
import type { ElasticsearchSinkStats } from './options.js';

const droppedDocumentsLogged = 5;

export class DeadLetters {
  private stream: WriteStream | undefined;
  private writeError: Error | undefined;

  constructor(
    private readonly path: string | undefined,
    private readonly stats: ElasticsearchSinkStats,
    private readonly logger: Logger,
    private readonly secrets: Array<string | undefined>,
  ) {}

  /** Counts, logs and keeps one dropped operation. */
  readonly drop = (entry: BulkEntry, status: number, error: ItemError): void => {
    const stats = this.stats;
    stats.dropped++;
    const document = entry.isDelete
      ? { _id: entry.id, type: 'tombstone' }
      : { _id: entry.id, ...(JSON.parse(entry.line.slice(entry.line.indexOf('\n') + 1)) as object) };
    this.write({ document, status, error });
    if (stats.dropped <= droppedDocumentsLogged) {
      this.logger.warn(`elasticsearch: dropped ${entry.id} (${status} ${error.type}: ${sanitize(error.reason, this.secrets)})`);
    } else if (stats.dropped === droppedDocumentsLogged + 1) {
      const where = this.path ? `all are in ${this.path}` : 'pass a dead-letter file to keep them';
      this.logger.warn(`elasticsearch: more documents dropped; ${where}`);
    }
  };

  /** Ends the file; throws when a dead letter could not be written (a lost document fails the run). */
  async close(): Promise<void> {
    await this.end();
    if (this.writeError) {
      throw new RunError('dead_letter_write_failed', `cannot write the dead-letter file ${this.path}: ${this.writeError.message}`, {
        hint: `${this.stats.dropped} documents were dropped; choose a writable --dead-letter path`,
      });
    }
  }

  /** Ends the file without judging it (on the way out of a failed run). */
  async end(): Promise<void> {
    const stream = this.stream;
    if (!stream || stream.closed) return;
    stream.end();
    await once(stream, 'close').catch(() => undefined);
  }

  private write(line: Record<string, unknown>): void {
    if (!this.path) return;
    if (!this.stream) {
      // Appended, never truncated: an earlier run's dead letters are documents too. 0600, never through a symlink.
      this.stream = appendStream(this.path);
      // Reported when the run ends, as a failed run: a dead letter that cannot be written is a lost document.
      this.stream.on('error', (error) => {
        this.writeError ??= error;
      });
      this.stats.deadLetterFile = this.path;
    }
    this.stream.write(`${JSON.stringify(line)}\n`);
  }
}
