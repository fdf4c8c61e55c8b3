// Writes the files of an export archive into a ZIP (yazl, streamed) or a folder; nothing appears under the final name until it is complete.

import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import { createPrivateFile, createTemporaryBeside, replaceFile } from '../files.js';

export interface ExportWriter {
  /** Adds one file (a path inside the archive, `/`-separated). Resolves when the writer can take more. */
  add(name: string, data: Buffer): Promise<void>;
  /** Finishes the archive and moves it to its final name. */
  commit(): Promise<void>;
  /** Removes everything written (after a failure). */
  abort(): Promise<void>;
  readonly bytes: number;
}

export const isZipPath = (path: string): boolean => path.toLowerCase().endsWith('.zip');

const temporaryFolderName = (finalPath: string): string =>
  join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}.${randomBytes(6).toString('hex')}.partial`);

/** Entries queued in yazl but not yet compressed are held in memory: at most this much before `add` waits. */
const zipQueueBytes = 8 * 1024 * 1024;

export async function zipWriter(path: string): Promise<ExportWriter> {
  const finalPath = resolve(path);
  const { path: temporaryPath, handle } = await createTemporaryBeside(finalPath, 'partial');
  const zip = new ZipFile();
  const output = createWriteStream('', { fd: handle.fd, autoClose: false } as Parameters<typeof createWriteStream>[1]);
  let failure: unknown = null;
  zip.on('error', (error: unknown) => (failure ??= error));
  output.on('error', (error: unknown) => (failure ??= error));
  (zip.outputStream as Readable).pipe(output);
  const mtime = new Date();
  let queuedBytes = 0;
  let wakeUp: (() => void) | null = null;
  const writer = {
    bytes: 0,
    async add(name: string, data: Buffer) {
      if (failure) throw failure;
      queuedBytes += data.length;
      writer.bytes += data.length;
      // yazl asks for an entry's data when the entries before it are written: only then has it left our queue.
      zip.addReadStreamLazy(name, { mtime, mode: 0o100600, size: data.length }, (callback) => {
        queuedBytes -= data.length;
        wakeUp?.();
        callback(null, Readable.from([data]));
      });
      while (queuedBytes > zipQueueBytes && !failure) await new Promise<void>((resolve) => (wakeUp = resolve));
      wakeUp = null;
      if (failure) throw failure;
    },
    async commit() {
      zip.end();
      await finished(output);
      if (failure) throw failure;
      await handle.sync();
      await handle.close();
      await replaceFile(temporaryPath, finalPath);
    },
    async abort() {
      output.destroy();
      await handle.close().catch(() => {});
      await rm(temporaryPath, { force: true });
    },
  };
  return writer;
}

export async function folderWriter(path: string): Promise<ExportWriter> {
  const finalPath = resolve(path);
  const temporaryPath = temporaryFolderName(finalPath);
  await mkdir(temporaryPath, { mode: 0o700 });
  const folders = new Set<string>();
  const writer = {
    bytes: 0,
    async add(name: string, data: Buffer) {
      const parts = name.split('/');
      for (let depth = 1; depth < parts.length; depth++) {
        const folder = parts.slice(0, depth).join('/');
        if (folders.has(folder)) continue;
        await mkdir(join(temporaryPath, folder), { mode: 0o700 });
        folders.add(folder);
      }
      const file = await createPrivateFile(join(temporaryPath, ...parts));
      try {
        await file.writeFile(data);
        await file.sync();
      } finally {
        await file.close();
      }
      writer.bytes += data.length;
    },
    async commit() {
      // An empty folder at the final name (made for the export) is replaced; anything else there is kept and reported.
      const existing = await stat(finalPath).catch(() => null);
      if (existing?.isDirectory()) await rmdir(finalPath);
      await rename(temporaryPath, finalPath);
    },
    async abort() {
      await rm(temporaryPath, { recursive: true, force: true });
    },
  };
  return writer;
}
