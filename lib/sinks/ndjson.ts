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
  /** Resumable file output with checkpoints (incremental state; plain files only, not gzip or stdout). */
  resume?: NdjsonResumeOptions;
}

export interface NdjsonCheckpoint {
  /** Documents of this sink run now durably in the file (cumulative, in input order). */
  documents: number;
  /** Length of the partial file up to the last complete, synced line. */
  bytes: number;
}

export interface NdjsonResumeOptions {
  /** A fixed name for the file being written (recorded by the caller) instead of a per-process temporary one. */
  partialPath: string;
  /** Bytes of `partialPath` an earlier run committed: the file is cut to this length and appended to. 0 starts it afresh. */
  committedBytes: number;
  /** Called after each checkpoint's fsync; the run waits for it. Also called when the input fails, for what was written. */
  onCheckpoint: (checkpoint: NdjsonCheckpoint) => Promise<void>;
  /** Time between checkpoints; default 1000 ms. */
  intervalMs?: number;
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
 * is a directory. Nothing is left behind.
 */
export async function checkNdjsonTarget(path: string | undefined): Promise<void> {
  if (isStdout(path)) return;
  const target = resolve(path!);
  const directory = dirname(target);
  const directoryStat = await stat(directory).catch(() => null);
  if (directoryStat && !directoryStat.isDirectory()) {
    throw new ConfigError('output_directory_missing', `cannot write ${path}: ${directory} is a file, not a directory`, { hint: 'choose another --out path' });
  }
  if (!directoryStat) {
    throw new ConfigError('output_directory_missing', `cannot write ${path}: the directory ${directory} does not exist`, { hint: 'create it or choose another --out path' });
  }
  const existing = await stat(target).catch(() => null);
  if (existing?.isDirectory()) throw new ConfigError('output_is_directory', `cannot write ${path}: it is a directory`, { hint: 'give a file name to --out' });
  const notWritable = (reason: string) =>
    new ConfigError('output_not_writable', `cannot write ${path}: ${reason}`, { hint: 'choose another --out path' });
  if (existing && !existing.isFile()) {
    // A device or a pipe is written in place (see ndjsonSink): only it needs to be writable.
    await access(target, constants.W_OK).catch(() => {
      throw notWritable('it is not writable');
    });
    return;
  }
  // Creating a file is the one test that holds for root, read-only mounts and ACLs alike: access() trusts mode bits.
  const probe = join(directory, `.${basename(target)}.${process.pid}.slack-etl-probe`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (error) {
    throw notWritable(`the directory ${directory} is not writable (${(error as NodeJS.ErrnoException).code ?? 'cannot create a file'})`);
  }
  await rm(probe, { force: true });
}

const isBrokenPipe = (error: unknown): boolean => (error as { code?: string } | null)?.code === 'EPIPE' || (error as { code?: string } | null)?.code === 'ERR_STREAM_DESTROYED';

const diskFullError = (path: string): RunError =>
  new RunError('disk_full', `no space left while writing ${path}; nothing was written under that name`, { hint: 'free disk space and run again' });

/**
 * The resumable file path: lines go straight to the partial file; at each checkpoint it is fsynced and the caller
 * records the committed prefix. A failure keeps the partial file (cut back to the last checkpoint on resume).
 */
async function writeResumable(documents: AsyncIterable<object>, finalPath: string, resume: NdjsonResumeOptions, stats: NdjsonSinkStats): Promise<NdjsonSinkStats> {
  const handle = await open(resume.partialPath, resume.committedBytes > 0 ? 'r+' : 'w');
  const intervalMs = resume.intervalMs ?? 1000;
  let position = resume.committedBytes;
  let chunk = '';
  let writing = false;
  let lastCheckpoint = performance.now();
  const flush = async () => {
    if (!chunk) return;
    const buffer = Buffer.from(chunk);
    chunk = '';
    await handle.write(buffer, 0, buffer.length, position);
    position += buffer.length;
    stats.bytes += buffer.length;
  };
  const checkpoint = async () => {
    writing = true;
    await flush();
    await handle.sync();
    await resume.onCheckpoint({ documents: stats.documents, bytes: position });
    lastCheckpoint = performance.now();
    writing = false;
  };
  try {
    await handle.truncate(resume.committedBytes);
    for await (const document of documents) {
      chunk += JSON.stringify(document) + '\n';
      stats.documents++;
      if (chunk.length >= chunkBytes) {
        writing = true;
        await flush();
        writing = false;
      }
      if (performance.now() - lastCheckpoint >= intervalMs) await checkpoint();
    }
    await checkpoint();
    await handle.close();
    await rename(resume.partialPath, finalPath);
    return stats;
  } catch (error) {
    // The input failed (an interrupt, a Slack error): what reached us is whole documents, so keep it for the resume.
    if (!writing) await checkpoint().catch(() => {});
    await handle.close().catch(() => {});
    if ((error as { code?: string }).code === 'ENOSPC') throw diskFullError(stats.path);
    throw error;
  }
}

export function ndjsonSink(options: NdjsonSinkOptions = {}): Sink<object> {
  const sink = async (documents: AsyncIterable<object>): Promise<NdjsonSinkStats> => {
    const toStdout = isStdout(options.path);
    const gzip = options.gzip ?? (!toStdout && options.path!.endsWith('.gz'));
    const stats: NdjsonSinkStats = { documents: 0, bytes: 0, path: toStdout ? '-' : options.path!, closedEarly: false };

    const finalPath = toStdout ? null : resolve(options.path!);
    if (options.resume) {
      if (!finalPath || gzip) throw new TypeError('ndjsonSink: `resume` needs a plain (not gzip) file path');
      return writeResumable(documents, finalPath, options.resume, stats);
    }
    // A device or a pipe (`/dev/null`, `/dev/full`, a FIFO) is written in place: a file renamed over it would replace it.
    const inPlace = finalPath !== null && (await stat(finalPath).catch(() => null))?.isFile() === false;
    const temporaryPath = finalPath && !inPlace ? join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}.${Date.now()}.partial`) : null;
    const handle = temporaryPath ? await open(temporaryPath, 'w') : inPlace ? await open(finalPath!, 'w') : null;
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
        // The listeners of the two events that did not happen are removed, so they do not pile up per chunk.
        const settled = new AbortController();
        try {
          await Promise.race([once(head, 'drain', { signal: settled.signal }), once(head, 'close', { signal: settled.signal }), once(destination, 'close', { signal: settled.signal })]);
        } finally {
          settled.abort();
        }
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
      } else if (handle) {
        await handle.close();
      }
      return stats;
    } catch (error) {
      if (handle) {
        await handle.close().catch(() => {});
        if (temporaryPath) await rm(temporaryPath, { force: true });
      }
      if (toStdout && isBrokenPipe(error)) {
        stats.closedEarly = true;
        return stats;
      }
      if ((error as { code?: string }).code === 'ENOSPC') {
        throw diskFullError(stats.path);
      }
      throw error;
    }
  };
  return Object.assign(sink, { sinkName: 'ndjson' });
}
