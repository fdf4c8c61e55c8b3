// NDJSON sink: one JSON document per line to stdout or a file (temp name + rename on success, `.gz` → gzip).

import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, open, rm, stat, unlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { basename, dirname, join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ConfigError, RunError } from '../errors.js';
import { defineSink, type ComponentStats, type Sink, type SinkContext } from '../stage.js';
import { createPrivateFile, createTemporaryBeside, modeToKeep, openOwnedFile, replaceFile } from '../files.js';
import { LineChunk } from './line-chunk.js';

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
  /**
   * `_id` → file offset for documents written again by a resume (see `isRepeat`): a line of that `_id` before the
   * offset is an earlier version, dropped when the file is finished. Includes the `repeats` passed in.
   */
  repeats: Record<string, number>;
}

export interface NdjsonResumeOptions {
  /**
   * A fixed name for the file being written (recorded by the caller, who keeps other writers away) instead of a
   * per-process temporary one.
   */
  partialPath: string;
  /** Bytes of `partialPath` an earlier run committed: the file is cut to this length and appended to. 0 starts it afresh. */
  committedBytes: number;
  /** Called after each checkpoint's fsync; the run waits for it. Also called when the input fails, for what was written. */
  onCheckpoint: (checkpoint: NdjsonCheckpoint) => Promise<void>;
  /** Time between checkpoints, kept also while no document arrives; default 1000 ms. */
  intervalMs?: number;
  /**
   * On a resume (committedBytes > 0): whether this document may already be in the partial file in an earlier
   * version (e.g. its `_id` is in the state). The earlier line is dropped when the file is finished: no `_id` twice.
   */
  isRepeat?: (document: { _id?: unknown }) => boolean;
  /** The `repeats` of the last checkpoint of an earlier run of this file. */
  repeats?: Record<string, number>;
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
    throw new ConfigError('output_directory_missing', `cannot write ${path}: ${directory} is a file, not a directory`, {
      hint: 'choose another --out path',
    });
  }
  if (!directoryStat) {
    throw new ConfigError('output_directory_missing', `cannot write ${path}: the directory ${directory} does not exist`, {
      hint: 'create it or choose another --out path',
    });
  }
  const existing = await stat(target).catch(() => null);
  if (existing?.isDirectory())
    throw new ConfigError('output_is_directory', `cannot write ${path}: it is a directory`, { hint: 'give a file name to --out' });
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

const isBrokenPipe = (error: unknown): boolean =>
  (error as { code?: string } | null)?.code === 'EPIPE' || (error as { code?: string } | null)?.code === 'ERR_STREAM_DESTROYED';

/** Writing on after the output closed without an error event: treated like a reader that went away. */
const closedStreamError = (): Error => Object.assign(new Error('the output stream was closed'), { code: 'ERR_STREAM_DESTROYED' });

const diskFullError = (path: string): RunError =>
  new RunError('disk_full', `no space left while writing ${path}; nothing was written under that name`, {
    hint: 'free disk space and run again',
  });

/** Marks an error of our own file I/O, so a full disk is reported as the output's, and other failures are not. */
const outputErrors = new WeakSet<object>();
function outputError(error: unknown, path: string): unknown {
  const wrapped = (error as { code?: string }).code === 'ENOSPC' ? diskFullError(path) : error;
  if (typeof wrapped === 'object' && wrapped !== null) outputErrors.add(wrapped);
  return wrapped;
}

/** The `_id` at the start of an NDJSON line written by this sink (`{"_id":"…",…}`), without parsing the whole line. */
function idOfLine(line: string): string | undefined {
  const match = /^\{"_id":("(?:[^"\\]|\\.)*")/.exec(line);
  if (match) return JSON.parse(match[1]!) as string;
  try {
    const id = (JSON.parse(line) as { _id?: unknown })._id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the finished partial file to `finalPath` without the earlier versions of documents a resume wrote again;
 * the partial file is removed only once the result is in place (a crash in between redoes this from the partial).
 */
async function finishWithoutRepeats(
  partialPath: string,
  finalPath: string,
  repeats: Map<string, number>,
  outputPath: string,
): Promise<void> {
  const { path: temporaryPath, handle } = await createTemporaryBeside(finalPath, 'partial');
  try {
    const input = createReadStream(partialPath);
    let offset = 0;
    let pending = '';
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      const start = offset;
      offset += Buffer.byteLength(line) + 1;
      const id = idOfLine(line);
      const newer = id === undefined ? undefined : repeats.get(id);
      if (newer !== undefined && start < newer) continue;
      pending += line + '\n';
      if (pending.length >= chunkBytes) {
        await handle.write(pending);
        pending = '';
      }
    }
    if (pending) await handle.write(pending);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporaryPath, { force: true });
    throw outputError(error, outputPath);
  }
  await replaceFile(temporaryPath, finalPath);
  await rm(partialPath, { force: true });
}

/** The partial file of a fresh start: any file left at its fixed name by a dead run (or planted) is removed first. */
async function createPartialFile(partialPath: string, finalPath: string) {
  await unlink(partialPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  return createPrivateFile(partialPath, { mode: await modeToKeep(finalPath) });
}

/**
 * The resumable file path: lines go straight to the partial file; about every `intervalMs` (by a timer, so a burst
 * followed by a stall is committed too) it is fsynced and the caller records the committed prefix. A failure keeps
 * the partial file (cut back to the last checkpoint on resume).
 */
async function writeResumable(
  documents: AsyncIterable<object>,
  finalPath: string,
  resume: NdjsonResumeOptions,
  stats: NdjsonSinkStats,
  context: SinkContext | undefined,
): Promise<NdjsonSinkStats> {
  const resuming = resume.committedBytes > 0;
  const handle = resuming ? await openOwnedFile(resume.partialPath, 'r+') : await createPartialFile(resume.partialPath, finalPath);
  const intervalMs = resume.intervalMs ?? 1000;
  const repeats = new Map(Object.entries(resume.repeats ?? {}));
  let position = resume.committedBytes;
  const chunk = new LineChunk(chunkBytes, context);
  let chunkDocuments = 0;
  let chunkRepeats: string[] = [];
  let documentsInFile = 0;
  let checkpointedDocuments = 0;
  let lastCheckpoint = performance.now();
  // File writes, syncs and checkpoints run one at a time, in order: the loop's flushes and the timer's checkpoints.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task);
    queue = next.catch(() => {});
    return next;
  };
  const flush = async () => {
    const buffer = chunk.take();
    if (buffer === undefined) return;
    const documentsInChunk = chunkDocuments;
    const repeatedInChunk = chunkRepeats;
    chunkDocuments = 0;
    chunkRepeats = [];
    try {
      await handle.write(buffer, 0, buffer.length, position);
    } catch (error) {
      throw outputError(error, stats.path);
    }
    // Each repeated document's new line is in this chunk, so at or after its start.
    for (const id of repeatedInChunk) repeats.set(id, position);
    position += buffer.length;
    stats.bytes += buffer.length;
    documentsInFile += documentsInChunk;
  };
  const checkpoint = async () => {
    await flush();
    try {
      await handle.sync();
    } catch (error) {
      throw outputError(error, stats.path);
    }
    lastCheckpoint = performance.now();
    checkpointedDocuments = documentsInFile;
    await resume.onCheckpoint({ documents: documentsInFile, bytes: position, repeats: Object.fromEntries(repeats) });
  };
  let timerFailure: unknown = null;
  let timerCheckpointRunning = false;
  const timer = setInterval(() => {
    if (timerCheckpointRunning || timerFailure || documentsInFile + chunkDocuments === checkpointedDocuments) return;
    timerCheckpointRunning = true;
    serially(checkpoint)
      .catch((error: unknown) => {
        timerFailure ??= error;
      })
      .finally(() => {
        timerCheckpointRunning = false;
      });
  }, intervalMs);
  timer.unref();
  try {
    try {
      await serially(() => handle.truncate(resume.committedBytes));
    } catch (error) {
      throw outputError(error, stats.path);
    }
    for await (const document of documents) {
      if (timerFailure) throw timerFailure;
      chunk.addDocument(document);
      chunkDocuments++;
      stats.documents++;
      if (resuming && resume.isRepeat?.(document as { _id?: unknown })) chunkRepeats.push(String((document as { _id?: unknown })._id));
      if (chunk.full) await serially(flush);
      // The timer cannot fire while documents arrive without the event loop turning: check here too.
      if (performance.now() - lastCheckpoint >= intervalMs) await serially(checkpoint);
    }
    clearInterval(timer);
    await serially(checkpoint);
    if (timerFailure) throw timerFailure;
    if (repeats.size > 0) {
      await handle.close();
      await finishWithoutRepeats(resume.partialPath, finalPath, repeats, stats.path);
    } else {
      await handle.close();
      await replaceFile(resume.partialPath, finalPath);
    }
    return stats;
  } catch (error) {
    clearInterval(timer);
    await queue;
    // The input failed (an interrupt, a Slack error): what reached us is whole documents, so keep it for the resume.
    // After a failure of our own file or of a checkpoint the file's tail is uncertain: the last checkpoint stands.
    const ownFailure = outputErrors.has(error as object) || error === timerFailure;
    if (!ownFailure) await serially(checkpoint).catch(() => {});
    await handle.close().catch(() => {});
    throw error;
  }
}

export function ndjsonSink(options: NdjsonSinkOptions = {}): Sink<object> {
  const sink = async (documents: AsyncIterable<object>, context?: SinkContext): Promise<NdjsonSinkStats> => {
    const toStdout = isStdout(options.path);
    const gzip = options.gzip ?? (!toStdout && options.path!.endsWith('.gz'));
    const stats: NdjsonSinkStats = { documents: 0, bytes: 0, path: toStdout ? '-' : options.path!, closedEarly: false };

    const finalPath = toStdout ? null : resolve(options.path!);
    if (options.resume) {
      if (!finalPath || gzip) throw new TypeError('ndjsonSink: `resume` needs a plain (not gzip) file path');
      return writeResumable(documents, finalPath, options.resume, stats, context);
    }
    // A device or a pipe (`/dev/null`, `/dev/full`, a FIFO) is written in place: a file renamed over it would replace it.
    const inPlace = finalPath !== null && (await stat(finalPath).catch(() => null))?.isFile() === false;
    const temporary = finalPath && !inPlace ? await createTemporaryBeside(finalPath, 'partial') : null;
    const temporaryPath = temporary?.path ?? null;
    const handle = temporary ? temporary.handle : inPlace ? await open(finalPath!, 'w') : null;
    const fileStream = handle
      ? createWriteStream('', { fd: handle.fd, autoClose: false } as Parameters<typeof createWriteStream>[1])
      : null;
    const destination: Writable = fileStream ?? options.stdout ?? process.stdout;
    const compressor = gzip ? createGzip() : null;
    if (compressor) compressor.pipe(destination);
    const head: Writable = compressor ?? destination;

    let streamError: unknown = null;
    // One set of listeners for the whole run wakes the writer waiting for room (drain), or for the end (close, error).
    let wakeWriter: (() => void) | null = null;
    const wake = () => {
      const resume = wakeWriter;
      wakeWriter = null;
      resume?.();
    };
    const remember = (error: unknown) => {
      streamError ??= error;
      wake();
    };
    head.on('error', remember);
    head.on('drain', wake);
    head.on('close', wake);
    destination.on('close', wake);
    if (compressor) destination.on('error', remember);

    async function write(buffer: Buffer): Promise<void> {
      if (streamError) throw streamError;
      stats.bytes += buffer.length;
      if (!head.write(buffer)) {
        if (head.destroyed || destination.destroyed) streamError ??= closedStreamError();
        else await new Promise<void>((resolve) => (wakeWriter = resolve));
        if (streamError) throw streamError;
      }
    }

    try {
      const chunk = new LineChunk(chunkBytes, context);
      for await (const document of documents) {
        chunk.addDocument(document);
        stats.documents++;
        if (chunk.full) await write(chunk.take()!);
      }
      const last = chunk.take();
      if (last) await write(last);
      if (fileStream || compressor) {
        head.end();
        await finished(destination === process.stdout ? head : destination);
      }
      if (streamError) throw streamError;
      if (handle && temporaryPath && finalPath) {
        await handle.sync();
        await handle.close();
        await replaceFile(temporaryPath, finalPath);
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
  return defineSink('ndjson', sink);
}
