// Read access to a Slack export as a ZIP (yauzl: entries streamed one at a time, never unpacked) or as an unpacked folder.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { ConfigError } from '../../errors.js';
import { dayFilePattern, usersFiles } from './layout.js';

/** One file of the archive, however it is stored. */
export type ArchiveFile = { kind: 'zip'; entry: yauzl.Entry } | { kind: 'folder'; path: string };

export interface DayFile {
  date: string;
  file: ArchiveFile;
}

export interface ArchiveReader {
  /** The top-level files (users.json, channels.json, …) by name. */
  readonly topFiles: Map<string, ArchiveFile>;
  /** Per conversation folder, its day files in date order. */
  readonly folders: Map<string, DayFile[]>;
  readJson(file: ArchiveFile, label: string): Promise<unknown>;
  close(): Promise<void>;
}

/** One JSON file is parsed whole: a day of one channel, or the user list. Larger is not a Slack export file. */
const maxJsonFileBytes = 512 * 1024 * 1024;

const archiveError = (path: string, problem: string): ConfigError =>
  new ConfigError('archive_invalid', `${path} is not a readable Slack export: ${problem}`, {
    hint:
      'pass the ZIP Slack gave you (Workspace settings → Import/Export Data → Export), ' +
      'a folder it was unpacked into, or an export slack-etl wrote',
  });

function parseJson(text: string, label: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw archiveError(path, `${label} is not valid JSON (${(error as Error).message})`);
  }
}

/** Sorts the found files into top-level files and day files, under the folder that holds users.json or channels.json. */
function classify(path: string, names: Iterable<[string, ArchiveFile]>): Pick<ArchiveReader, 'topFiles' | 'folders'> {
  const all = [...names];
  const anchors = all
    .map(([name]) => name)
    .filter((name) => [...usersFiles, 'channels.json'].includes(posix.basename(name)))
    .sort((left, right) => left.split('/').length - right.split('/').length);
  if (anchors.length === 0) throw archiveError(path, 'it has no users.json or channels.json');
  const root = posix.dirname(anchors[0]!);
  const prefix = root === '.' ? '' : `${root}/`;
  const topFiles = new Map<string, ArchiveFile>();
  const folders = new Map<string, DayFile[]>();
  for (const [name, file] of all) {
    if (!name.startsWith(prefix)) continue;
    const parts = name.slice(prefix.length).split('/');
    if (parts.length === 1) {
      topFiles.set(parts[0]!, file);
      continue;
    }
    const day = parts.length === 2 ? dayFilePattern.exec(parts[1]!) : null;
    if (!day) continue; // attachments/, __uploads/ and the like
    const list = folders.get(parts[0]!) ?? [];
    list.push({ date: day[1]!, file });
    folders.set(parts[0]!, list);
  }
  for (const list of folders.values()) list.sort((left, right) => (left.date < right.date ? -1 : left.date > right.date ? 1 : 0));
  return { topFiles, folders };
}

async function openZip(path: string): Promise<ArchiveReader> {
  let zip: yauzl.ZipFile;
  try {
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (error, file) =>
        error ? reject(error) : resolve(file),
      ),
    );
  } catch (error) {
    throw archiveError(path, `cannot open it as a ZIP (${(error as Error).message})`);
  }
  // The central directory is read entry by entry; only the JSON entries' locations are kept, never their data.
  const entries: Array<[string, ArchiveFile]> = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith('.json')) entries.push([entry.fileName, { kind: 'zip', entry }]);
      zip.readEntry();
    });
    zip.on('end', () => resolve());
    zip.on('error', (error: Error) => reject(archiveError(path, error.message)));
    zip.readEntry();
  });
  return {
    ...classify(path, entries),
    async readJson(file, label) {
      if (file.kind !== 'zip') throw new TypeError('not a ZIP entry');
      if (file.entry.uncompressedSize > maxJsonFileBytes)
        throw archiveError(path, `${label} is ${file.entry.uncompressedSize} bytes, more than a Slack export file holds`);
      const stream = await new Promise<Readable>((resolve, reject) =>
        zip.openReadStream(file.entry, (error, readStream) =>
          error ? reject(archiveError(path, `${label}: ${error.message}`)) : resolve(readStream),
        ),
      );
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of stream) chunks.push(chunk as Buffer);
      } catch (error) {
        throw archiveError(path, `${label} cannot be read (${(error as Error).message})`);
      }
      return parseJson(Buffer.concat(chunks).toString('utf8'), label, path);
    },
    async close() {
      zip.close();
    },
  };
}

async function openFolder(path: string): Promise<ArchiveReader> {
  const names: Array<[string, ArchiveFile]> = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.json')) names.push([entry.name, { kind: 'folder', path: join(path, entry.name) }]);
    if (!entry.isDirectory()) continue;
    for (const inner of await readdir(join(path, entry.name), { withFileTypes: true })) {
      if (inner.isFile() && dayFilePattern.test(inner.name))
        names.push([`${entry.name}/${inner.name}`, { kind: 'folder', path: join(path, entry.name, inner.name) }]);
    }
  }
  return {
    ...classify(path, names),
    async readJson(file, label) {
      if (file.kind !== 'folder') throw new TypeError('not a file in a folder');
      const size = (await stat(file.path)).size;
      if (size > maxJsonFileBytes) throw archiveError(path, `${label} is ${size} bytes, more than a Slack export file holds`);
      return parseJson(await readFile(file.path, 'utf8'), label, path);
    },
    async close() {},
  };
}

/** Opens a Slack export: a `.zip` file or a folder. Problems are ConfigErrors naming the path. */
export async function openArchive(path: string): Promise<ArchiveReader> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new ConfigError('archive_missing', `the archive ${path} does not exist`, { hint: 'check the --from-archive path' });
  return info.isDirectory() ? openFolder(path) : openZip(path);
}
