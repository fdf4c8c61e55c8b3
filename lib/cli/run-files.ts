// The files one CLI run owns: locks on the state and the output, early checks of the state's place, the resume point, the previous export.

import { lstat, rename, stat, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError, RunError } from '../errors.js';
import { acquireLock, createPrivateFile, lockPathFor, UnsafeFileError, type FileLock } from '../files.js';
import type { StateStore } from '../state/store.js';

/** The fixed name an NDJSON export with --state writes to until it completes (recorded in the state for a resume). */
export const partialPathFor = (out: string): string => {
  const finalPath = resolve(out);
  return join(dirname(finalPath), `.${basename(finalPath)}.slack-etl-partial`);
};

/** Whether `--out` names a file we write by rename (not stdout, not a device or pipe written in place). */
export async function isFileOutput(out: string | undefined): Promise<boolean> {
  if (out === undefined || out === '-') return false;
  const existing = await stat(out).catch(() => null);
  return existing === null || existing.isFile();
}

const megabyte = 1024 * 1024;

/**
 * Before any Slack call: the state's directory exists, we can create files in it (a probe: it holds for root and
 * read-only mounts alike) and it has room for the atomic save (a second copy of the state beside the first).
 */
export async function checkStateTarget(path: string): Promise<void> {
  const target = resolve(path);
  const directory = dirname(target);
  const directoryInfo = await stat(directory).catch(() => null);
  if (!directoryInfo?.isDirectory()) {
    throw new ConfigError(
      'state_directory_missing',
      `cannot use the state file ${path}: ` +
        `${directoryInfo ? `${directory} is not a directory` : `the directory ${directory} does not exist`}`,
      {
        hint: 'create it or choose another --state path',
      },
    );
  }
  const existing = await lstat(target).catch(() => null);
  if (existing?.isDirectory())
    throw new ConfigError('state_is_directory', `cannot use the state file ${path}: it is a directory`, {
      hint: 'give a file name to --state',
    });
  const probe = join(directory, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.probe`);
  try {
    await (await createPrivateFile(probe)).close();
  } catch (error) {
    throw new ConfigError(
      'state_not_writable',
      `cannot write the state file ${path}: the directory ${directory} is not writable ` +
        `(${(error as NodeJS.ErrnoException).code ?? 'cannot create a file'})`,
      {
        hint: 'make it writable or choose another --state path; nothing was read from Slack',
      },
    );
  }
  await unlink(probe).catch(() => {});
  const space = await statfs(directory).catch(() => null);
  if (space) {
    const free = space.bavail * space.bsize;
    const needed = Math.max(megabyte, 2 * (existing?.size ?? 0));
    if (free < needed) {
      throw new ConfigError(
        'state_no_space',
        `not enough free space for the state file ${path}: ${free.toLocaleString('en-US')} bytes free in ${directory}, ` +
          `${needed.toLocaleString('en-US')} needed to save it`,
        {
          hint: 'free disk space or choose another --state path; nothing was read from Slack',
        },
      );
    }
  }
}

/** A failed state save names the state (not the output): a full disk or a read-only file system under the state. */
export function stateSaveError(error: unknown, path: string): unknown {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new RunError('state_disk_full', `no space left while saving the state file ${path}; the state saved before is kept`, {
      hint: 'free disk space and run the same command again to resume',
      cause: error,
    });
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new RunError('state_write_failed', `cannot save the state file ${path} (${code}); the state saved before is kept`, {
      hint: 'make it writable and run the same command again',
      cause: error,
    });
  }
  return error;
}

export interface RunFileLocks {
  release(): Promise<void>;
}

/**
 * Takes the run's locks before anything is read: the state (`STATE.lock`) and a file output (`.OUT.slack-etl-partial.lock`,
 * beside the partial file every run to OUT shares). A second run on either exits 2 naming the running one.
 */
export async function lockRunFiles(statePath: string | undefined, out: string | undefined): Promise<RunFileLocks> {
  const locks: FileLock[] = [];
  const release = async () => {
    for (const lock of locks.reverse()) await lock.release();
  };
  try {
    if (statePath !== undefined) locks.push(await acquireLock(lockPathFor(statePath), { what: `the state file ${statePath}` }));
    if (await isFileOutput(out)) locks.push(await acquireLock(lockPathFor(partialPathFor(out!)), { what: `the output ${out}` }));
  } catch (error) {
    await release();
    throw error;
  }
  return { release };
}

/**
 * With --state, an export never replaces the file the state records its last export wrote: those documents are
 * marked as emitted and would not come again. An empty or missing file loses nothing.
 */
export async function refuseToReplacePreviousExport(state: StateStore, out: string): Promise<void> {
  const previous = state.lastOutput;
  if (!previous || resolve(previous.path) !== resolve(out)) return;
  const existing = await lstat(out).catch(() => null);
  if (!existing || (existing.isFile() && existing.size === 0)) return;
  throw new ConfigError(
    'output_holds_previous_export',
    `${out} holds the export finished at ${previous.finishedAt} that the state file ${state.path} records as written; this ` +
      `incremental run would replace it with only what changed since`,
    { hint: `move ${out} away first, or give each run its own --out (e.g. a dated name); nothing was changed` },
  );
}

export interface ResumePoint {
  committedBytes: number;
  repeats: Record<string, number>;
}

/**
 * Where a resumable export continues: the bytes the state says are committed in the partial file. A run killed after
 * renaming the partial file but before saving the state left its whole output under the final name: continue that.
 * A partial file that is gone while the state records it is an error: its documents are marked as written.
 */
export async function resumePoint(state: StateStore, out: string): Promise<ResumePoint> {
  const run = state.run;
  if (!run) return { committedBytes: 0, repeats: {} };
  const partialPath = partialPathFor(out);
  const repeats = run.repeats ?? {};
  const partial = await lstat(partialPath).catch(() => null);
  if (partial === null) {
    const final = await lstat(resolve(out)).catch(() => null);
    // Finished without repeats: the partial file renamed as it was. With repeats: rewritten, so its length changed.
    const finishedUnrecorded = final?.isFile() && (final.size === run.committedBytes || Object.keys(repeats).length > 0);
    if (final && finishedUnrecorded) {
      await rename(resolve(out), partialPath);
      return { committedBytes: final.size, repeats: final.size === run.committedBytes ? repeats : {} };
    }
    throw new ConfigError(
      'state_partial_missing',
      `the state file ${state.path} records an unfinished export to ${run.path}, but its partial file ${partialPath} is gone ` +
        `(its ${run.committedBytes.toLocaleString('en-US')} bytes of documents are marked as written)`,
      {
        hint: `restore ${partialPath} and run the same command again, or delete ${state.path} to start over with a full export`,
      },
    );
  }
  if (!partial.isFile())
    throw new UnsafeFileError(partialPath, partial.isSymbolicLink() ? 'it is a symbolic link' : 'it is not a regular file');
  if (partial.size < run.committedBytes) {
    throw new ConfigError(
      'state_partial_mismatch',
      `${partialPath} is shorter than the state file ${state.path} says (${partial.size} < ${run.committedBytes} bytes)`,
      {
        hint: `restore the file, or delete ${state.path} to start over with a full export`,
      },
    );
  }
  return { committedBytes: run.committedBytes, repeats };
}
