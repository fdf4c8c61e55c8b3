// NDJSON sink: one JSON document per line to stdout or a file (temp name + rename on success, `.gz` → gzip).

import { constants, createWriteStream } from 'node:fs';
import { access, open, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ConfigError, RunError } from '../errors.js';
import type { ComponentStats, Sink } from '../stage.js';

export interface NdjsonSinkOptions {
  /** File path, or `-` / undefined for stdout. A path ending in `.gz` is gzip-compressed. */
  path?: string;
  /** Where `-` writes (default process.stdout); tests pass their own stream. */
  stdout?: Writable;
  /** Force gzip on or off (default: by the `.gz` suffix). */
  gzip?: boolean;
}

export interface NdjsonSinkStats extends ComponentStats {
  documents: number;
  bytes: number;
  path: string;
  /** The reader of stdout went away (e.g. `| head -1`); the run stopped quietly. */
  closedEarly: boolean;
}

/** Lines are joined into chunks of about this size: one write per chunk, not per document. */
const chunkBytes = 64 * 1024;

const isStdout = (path: string | undefined): boolean => path === undefined || path === '-';

/**
 * Fail before any Slack call when the output cannot be written: a missing or read-only directory, or a path that
 * is a directory. Nothing is created here.
 */
export async function checkNdjsonTarget(path: string | undefined): Promise<void> {
  if (isStdout(path)) return;
  const target = resolve(path!);
  const directory = dirname(target);
  const directoryStat = await stat(directory).catch(() => null);
  if (!directoryStat?.isDirectory()) {
    throw new ConfigError('output_directory_missing', `cannot write ${path}: the directory ${directory} does not exist`, { hint: 'create it or choose another --out path' });
  }
  try {
    await access(directory, constants.W_OK);
  } catch {
    throw new ConfigError('output_not_writable', `cannot write ${path}: the directory ${directory} is not writable`, { hint: 'choose another --out path' });
  }
  const existing = await stat(target).catch(() => null);
  if (existing?.isDirectory()) throw new ConfigError('output_is_directory', `cannot write ${path}: it is a directory`, { hint: 'give a file name to --out' });
}

const isBrokenPipe = (error: unknown): boolean => (error as { code?: string } | null)?.code === 'EPIPE' || (error as { code?: string } | null)?.code === 'ERR_STREAM_DESTROYED';

export function ndjsonSink(options: NdjsonSinkOptions = {}): Sink<object> {
  const sink = async (documents: AsyncIterable<object>): Promise<NdjsonSinkStats> => {
    const toStdout = isStdout(options.path);
    const gzip = options.gzip ?? (!toStdout && options.path!.endsWith('.gz'));
    const stats: NdjsonSinkStats = { documents: 0, bytes: 0, path: toStdout ? '-' : options.path!, closedEarly: false };

    const finalPath = toStdout ? null : resolve(options.path!);
    const temporaryPath = finalPath ? join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}.${Date.now()}.partial`) : null;
    const handle = temporaryPath ? await open(temporaryPath, 'w') : null;
    const fileStream = handle ? createWriteStream('', { fd: handle.fd, autoClose: false } as Parameters<typeof createWriteStream>[1]) : null;
    const destination: Writable = fileStream ?? options.stdout ?? process.stdout;
    const compressor = gzip ? createGzip() : null;
    if (compressor) compressor.pipe(destination);
    const head: Writable = compressor ?? destination;

    let streamError: unknown = null;
    const remember = (error: unknown) => {
      streamError ??= error;
    };
    head.on('error', remember);
    if (compressor) destination.on('error', remember);

    async function write(chunk: string): Promise<void> {
      if (streamError) throw streamError;
      stats.bytes += Buffer.byteLength(chunk);
      if (!head.write(chunk)) {
        await Promise.race([once(head, 'drain'), once(head, 'close'), once(destination, 'close')]);
        if (streamError) throw streamError;
      }
    }

    try {
      let chunk = '';
      for await (const document of documents) {
        chunk += JSON.stringify(document) + '\n';
        stats.documents++;
        if (chunk.length >= chunkBytes) {
          await write(chunk);
          chunk = '';
        }
      }
      if (chunk) await write(chunk);
      if (fileStream || compressor) {
        head.end();
        await finished(destination === process.stdout ? head : destination);
      }
      if (streamError) throw streamError;
      if (handle && temporaryPath && finalPath) {
        await handle.sync();
        await handle.close();
        await rename(temporaryPath, finalPath);
      }
      return stats;
    } catch (error) {
      if (handle) {
        await handle.close().catch(() => {});
        await rm(temporaryPath!, { force: true });
      }
      if (toStdout && isBrokenPipe(error)) {
        stats.closedEarly = true;
        return stats;
      }
      if ((error as { code?: string }).code === 'ENOSPC') {
        throw new RunError('disk_full', `no space left while writing ${stats.path}; nothing was written under that name`, { hint: 'free disk space and run again' });
      }
      throw error;
    }
  };
  return Object.assign(sink, { sinkName: 'ndjson' });
}
