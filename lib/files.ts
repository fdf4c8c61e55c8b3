// Safe files for private data: exclusive 0600 creation, no symlinks followed, owned-file checks, and run locks.

import { close, constants, createWriteStream, fstat, open as openCallback, write, writev, type WriteStream } from 'node:fs';
import { link, lstat, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from './errors.js';

/** Files we write may hold private channels and DMs: only their owner may read them. */
export const privateFileMode = 0o600;

// O_NOFOLLOW does not exist on Windows; there symlinks need privileges to create, so 0 is the honest fallback.
const noFollow = constants.O_NOFOLLOW ?? 0;
// A FIFO planted where a file is expected would block the open forever; regular files ignore O_NONBLOCK.
const noBlock = constants.O_NONBLOCK ?? 0;
const createExclusiveFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | noFollow;
const appendFlags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | noFollow | noBlock;

const errorCode = (error: unknown): string | undefined => (error as { code?: string } | null)?.code;

/** A file we were asked to open is not one we may safely write into: a symlink, not a regular file, or someone else's. */
export class UnsafeFileError extends ConfigError {
  readonly path: string;
  constructor(path: string, problem: string) {
    super('unsafe_file', `refusing to use ${path}: ${problem}`, {
      hint: 'remove it (it was left untouched) or choose another path; slack-etl only writes into regular files it created for you',
    });
    this.path = path;
  }
}

/** Why a stat result is not a file we may write into, or null when it is. */
function unsafeReason(info: { isFile(): boolean; isSymbolicLink?(): boolean; uid: number; nlink: number }): string | null {
  if (info.isSymbolicLink?.()) return 'it is a symbolic link';
  if (!info.isFile()) return 'it is not a regular file';
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) return `it is owned by uid ${info.uid}, not by the current user (uid ${uid})`;
  // A second name for the file means writing here writes somewhere else too.
  if (info.nlink > 1) return `it has ${info.nlink} hard links`;
  return null;
}

/** Translates "followed a link" errors of an O_NOFOLLOW open into one clear message. */
function openError(path: string, error: unknown): unknown {
  const code = errorCode(error);
  if (code === 'ELOOP' || code === 'EMLINK') return new UnsafeFileError(path, 'it is a symbolic link');
  if (code === 'ENXIO') return new UnsafeFileError(path, 'it is not a regular file'); // a FIFO without a reader
  return error;
}

/**
 * Creates `path` for writing, exclusively: it must not exist (not even as a dangling symlink). Mode 0600 unless
 * `mode` says otherwise (e.g. the mode of a file this one will replace); set exactly, whatever the umask.
 */
export async function createPrivateFile(path: string, options: { mode?: number } = {}): Promise<FileHandle> {
  const mode = options.mode ?? privateFileMode;
  let handle: FileHandle;
  try {
    handle = await open(path, createExclusiveFlags, mode);
  } catch (error) {
    throw openError(path, error);
  }
  try {
    await handle.chmod(mode);
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw error;
  }
  return handle;
}

/**
 * Opens an existing file to continue it (a resume): only a regular file owned by the current user with one name,
 * never through a symlink. `flags` is 'r' or 'r+'.
 */
export async function openOwnedFile(path: string, flags: 'r' | 'r+' = 'r+'): Promise<FileHandle> {
  return openChecked(path, (flags === 'r' ? constants.O_RDONLY : constants.O_RDWR) | noFollow | noBlock);
}

/** Opens `path` for appending, creating it 0600 when missing; an existing file must pass openOwnedFile's checks. */
export async function openForAppend(path: string): Promise<FileHandle> {
  return openChecked(path, appendFlags, privateFileMode);
}

/** Opens with `flags` (which never follow a link), then refuses anything but a regular file of ours with one link. */
async function openChecked(path: string, flags: number, mode?: number): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, flags, mode);
  } catch (error) {
    throw openError(path, error);
  }
  const reason = unsafeReason(await handle.stat());
  if (reason !== null) {
    await handle.close();
    throw new UnsafeFileError(path, reason);
  }
  return handle;
}

/**
 * A write stream appending to `path` (created 0600 when missing, never through a symlink, never truncated). It opens
 * lazily like fs.createWriteStream: an unsafe or unwritable file is reported as the stream's 'error' event.
 */
export function appendStream(path: string): WriteStream {
  const checkedOpen = (file: string, flags: number, mode: number, callback: (error: Error | null, fd?: number) => void) => {
    openCallback(file, flags, mode, (error, fd) => {
      if (error) return callback(openError(path, error) as Error);
      fstat(fd, (statError, info) => {
        const reason = statError ? null : unsafeReason(info);
        if (!statError && reason === null) return callback(null, fd);
        close(fd, () => callback(statError ?? new UnsafeFileError(path, reason!)));
      });
    });
  };
  // `fs` swaps only the open; writes and close are Node's own.
  return createWriteStream(path, {
    flags: appendFlags,
    mode: privateFileMode,
    fs: { open: checkedOpen, write, writev, close },
  } as unknown as Parameters<typeof createWriteStream>[1]);
}

/** The mode to give a file that replaces `path`: the existing regular file's own, else 0600. */
export async function modeToKeep(path: string): Promise<number> {
  const info = await lstat(path).catch(() => null);
  return info?.isFile() ? info.mode & 0o777 : privateFileMode;
}

/**
 * Creates a hidden temporary file beside `finalPath` (`.NAME.<pid>.<random>.<tag>`), exclusively, with the mode the
 * final file keeps (see modeToKeep). The random part keeps a planted file from blocking or capturing the write.
 */
export async function createTemporaryBeside(finalPath: string, tag: string): Promise<{ path: string; handle: FileHandle }> {
  const target = resolve(finalPath);
  const path = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.${tag}`);
  return { path, handle: await createPrivateFile(path, { mode: await modeToKeep(target) }) };
}

/**
 * Removes the temporary files createTemporaryBeside(finalPath, tag) made for processes that are gone (a SIGKILL leaves
 * them behind). Call it only while holding the lock on `finalPath`, so no live writer on another host is affected.
 */
export async function removeTemporariesOfDeadProcesses(finalPath: string, tag: string): Promise<string[]> {
  const target = resolve(finalPath);
  const prefix = `.${basename(target)}.`;
  const removed: string[] = [];
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(`.${tag}`)) continue;
    const pid = /^(\d+)\.[0-9a-f]+$/.exec(name.slice(prefix.length, -tag.length - 1))?.[1];
    if (pid === undefined || Number(pid) === process.pid || isProcessAlive(Number(pid))) continue;
    const path = join(dirname(target), name);
    if ((await lstat(path).catch(() => null))?.isFile()) {
      await unlink(path).catch(() => {});
      removed.push(path);
    }
  }
  return removed;
}

/** Renames `temporaryPath` over `finalPath` and fsyncs the directory, so the rename survives a power loss. */
export async function replaceFile(temporaryPath: string, finalPath: string): Promise<void> {
  await rename(temporaryPath, finalPath);
  const directory = await open(dirname(resolve(finalPath)), 'r').catch(() => null);
  if (directory) {
    await directory.sync().catch(() => {});
    await directory.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Run locks

/** Who holds a lock: written into the lock file. `token` tells this holding apart from any other. */
export interface LockOwner {
  pid: number;
  host: string;
  /** ISO-8601 time the lock was taken. */
  since: string;
  token: string;
}

export interface FileLock {
  /** The lock file. */
  readonly path: string;
  readonly owner: LockOwner;
  /** Whether the lock file is still ours (nobody removed or replaced it). */
  stillHeld(): Promise<boolean>;
  /** Removes the lock file if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

/** Another live run holds the lock: exit 2, naming it. */
export class LockedError extends ConfigError {
  readonly owner: LockOwner | null;
  constructor(what: string, lockPath: string, owner: LockOwner | null, detail?: string) {
    const message = owner
      ? `${what} is in use by another slack-etl run (pid ${owner.pid} on ${owner.host}, since ${owner.since})`
      : `${what} cannot be locked: ${detail ?? 'its lock file is in the way'}`;
    super('locked', message, {
      hint: `wait for that run to finish; if it is not running any more, remove ${lockPath}`,
    });
    this.owner = owner;
  }
}

/** The lock file beside a state or output file. */
export const lockPathFor = (path: string): string => `${resolve(path)}.lock`;

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return errorCode(error) === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (
      Number.isSafeInteger(value.pid) &&
      typeof value.host === 'string' &&
      typeof value.since === 'string' &&
      typeof value.token === 'string'
    )
      return value as LockOwner;
  } catch {
    // not a lock we wrote
  }
  return null;
}

type LockRead = { kind: 'absent' } | { kind: 'owner'; owner: LockOwner } | { kind: 'unreadable'; reason: string };

async function readLock(lockPath: string): Promise<LockRead> {
  let handle: FileHandle;
  try {
    handle = await open(lockPath, constants.O_RDONLY | noFollow | noBlock);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { kind: 'absent' };
    if (errorCode(error) === 'ELOOP' || errorCode(error) === 'EMLINK')
      return { kind: 'unreadable', reason: 'the lock file is a symbolic link' };
    return { kind: 'unreadable', reason: `the lock file cannot be read (${errorCode(error) ?? String(error)})` };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { kind: 'unreadable', reason: 'the lock file is not a regular file' };
    const owner = parseOwner(await handle.readFile('utf8'));
    return owner ? { kind: 'owner', owner } : { kind: 'unreadable', reason: 'the lock file is not a slack-etl lock' };
  } finally {
    await handle.close();
  }
}

/**
 * Puts a lock file holding `owner` at `lockPath` only if none exists. The content is written to a private temporary
 * file first and hard-linked into place, so a reader never sees a half-written lock. Returns false when one exists.
 */
async function placeLock(lockPath: string, owner: LockOwner): Promise<boolean> {
  const temporary = `${lockPath}.${owner.token}.tmp`;
  const handle = await createPrivateFile(temporary);
  try {
    await handle.writeFile(JSON.stringify(owner) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, lockPath);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    if (!noHardLinks.has(errorCode(error) ?? '')) throw error;
  } finally {
    await unlink(temporary).catch(() => {});
  }
  // A file system without hard links: create the lock itself exclusively (a reader may see it empty for a moment).
  let lock: FileHandle;
  try {
    lock = await createPrivateFile(lockPath);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await lock.writeFile(JSON.stringify(owner) + '\n');
    await lock.sync();
  } finally {
    await lock.close();
  }
  return true;
}

async function removeIfOurs(lockPath: string, token: string): Promise<void> {
  const current = await readLock(lockPath);
  if (current.kind === 'owner' && current.owner.token === token) await unlink(lockPath).catch(() => {});
}

/**
 * Removes the lock of a dead process. Only the holder of the takeover lock named after the stale lock's token may
 * remove it, so two runs finding the same stale lock cannot both take it over (or remove the winner's new lock):
 * the second either fails to get the takeover lock or, once it has it, sees a lock with another token.
 */
async function removeStale(lockPath: string, stale: LockOwner, options: AcquireLockOptions): Promise<void> {
  await options.beforeTakeover?.(stale);
  let takeover: FileLock;
  try {
    takeover = await acquireLock(`${lockPath}.takeover-${stale.token}`, { what: options.what });
  } catch (error) {
    if (error instanceof LockedError) return; // another run is taking it over; the caller looks again
    throw error;
  }
  try {
    const current = await readLock(lockPath);
    if (current.kind === 'owner' && current.owner.token === stale.token) await unlink(lockPath).catch(() => {});
  } finally {
    await takeover.release();
  }
}

const attempts = 50;
const noHardLinks = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);
/** Tokens of the locks this process holds: a lock naming our pid but not one of these is a previous process's (pid reuse, containers). */
const heldTokens = new Set<string>();

export interface AcquireLockOptions {
  /** Names the locked thing in messages (default: the lock file). */
  what?: string;
  /** Called when a stale lock was found, before taking it over: tests pause here to race two takeovers. */
  beforeTakeover?: (stale: LockOwner) => Promise<void>;
}

/**
 * Takes the lock file at `lockPath` (see lockPathFor) exclusively, or throws LockedError naming the live holder.
 * A lock left by a process that is gone (same host, pid not running) is taken over.
 */
export async function acquireLock(lockPath: string, options: AcquireLockOptions = {}): Promise<FileLock> {
  const what = options.what ?? lockPath;
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < attempts; attempt++) {
    // Known as held before the lock is visible: placeLock awaits after its link, and a racing taker in this process
    // that read our lock in that gap must see a live holder, not a stale lock to remove.
    heldTokens.add(owner.token);
    const placed = await placeLock(lockPath, owner).catch((error: unknown) => {
      heldTokens.delete(owner.token);
      throw error;
    });
    if (placed) {
      let released = false;
      return {
        path: lockPath,
        owner,
        async stillHeld() {
          const current = await readLock(lockPath);
          return current.kind === 'owner' && current.owner.token === owner.token;
        },
        async release() {
          if (released) return;
          released = true;
          await removeIfOurs(lockPath, owner.token);
          heldTokens.delete(owner.token);
        },
      };
    }
    heldTokens.delete(owner.token);
    const current = await readLock(lockPath);
    if (current.kind === 'absent') continue; // released between our attempt and the read
    if (current.kind === 'unreadable') {
      // A lock being written on a file system without hard links reads empty for a moment; anything else needs a person.
      if (attempt < 5) {
        await sleep(20);
        continue;
      }
      throw new LockedError(what, lockPath, null, current.reason);
    }
    const holder = current.owner;
    const alive = holder.pid === process.pid ? heldTokens.has(holder.token) : isProcessAlive(holder.pid);
    if (holder.host !== owner.host || alive) throw new LockedError(what, lockPath, holder);
    await removeStale(lockPath, holder, options);
    // Another run may be between its takeover and its own lock: give it a moment before looking again.
    await sleep(5 + Math.floor(Math.random() * 20));
  }
  throw new LockedError(what, lockPath, null, 'the lock kept changing hands');
}
