// Slack's official export layout (users.json, channels.json, groups.json, dms.json, mpims.json, <folder>/<YYYY-MM-DD>.json) from Slack's
// own objects, as a ZIP or a folder.

import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { AnyDocument } from '../documents.js';
import { ConfigError } from '../errors.js';
import { slackObjectOf } from '../slack-raw.js';
import { defineSink, type ComponentStats, type Sink } from '../stage.js';
import { conversationFiles, dayFileDate, folderOf, isSafeFolderName, kindOf, type ConversationKind } from '../sources/archive/layout.js';
import { folderWriter, isZipPath, zipWriter, type ExportWriter } from './export-writer.js';

type Raw = Record<string, any>;

export interface SlackExportSinkOptions {
  /** `….zip` writes a ZIP archive; any other path a folder (which must not exist yet, or be empty). */
  path: string;
  /** The token's own user id: Slack lists both members of a DM in dms.json, conversations.list names only the other. */
  selfUserId?: string | null;
  /** Users found beyond the user documents (users.info lookups of Slack Connect users): listed in users.json too. */
  extraUsers?: () => Raw[];
}

export interface SlackExportSinkStats extends ComponentStats {
  documents: number;
  messages: number;
  dayFiles: number;
  conversations: number;
  users: number;
  bytes: number;
  path: string;
}

/** Fails before any Slack call when the export cannot be written where asked. */
export async function checkSlackExportTarget(path: string | undefined): Promise<void> {
  if (path === undefined || path === '-') {
    throw new ConfigError('usage', '--format slack-export writes files, not stdout', {
      hint: 'pass --out EXPORT.zip (a ZIP) or --out DIR (a folder)',
    });
  }
  const target = resolve(path);
  const parent = await stat(dirname(target)).catch(() => null);
  if (!parent?.isDirectory()) {
    throw new ConfigError('output_directory_missing', `cannot write ${path}: the directory ${dirname(target)} does not exist`, {
      hint: 'create it or choose another --out path',
    });
  }
  const existing = await stat(target).catch(() => null);
  if (!existing) return;
  if (isZipPath(path)) {
    if (!existing.isFile())
      throw new ConfigError('output_is_directory', `cannot write ${path}: it exists and is not a file`, {
        hint: 'choose another --out path',
      });
    return;
  }
  const { readdir } = await import('node:fs/promises');
  if (!existing.isDirectory() || (await readdir(target)).length > 0) {
    throw new ConfigError('output_exists', `cannot write the export folder ${path}: it already exists and is not an empty folder`, {
      hint: 'choose a new --out path (an earlier export is never written over), or end it in .zip for a ZIP archive',
    });
  }
}

/** The profile summary Slack puts on each message of a person (not on bots' messages). */
function userProfileOf(user: Raw): Raw {
  const profile: Raw = user.profile ?? {};
  return {
    avatar_hash: profile.avatar_hash ?? '',
    image_72: profile.image_72 ?? '',
    first_name: profile.first_name ?? '',
    real_name: profile.real_name ?? '',
    display_name: profile.display_name ?? '',
    team: profile.team ?? user.team_id ?? '',
    name: user.name ?? '',
    is_restricted: Boolean(user.is_restricted),
    is_ultra_restricted: Boolean(user.is_ultra_restricted),
  };
}

/** A message as Slack's export writes it: with its author's profile summary and reply_users_count. */
function exportedMessage(raw: Raw, usersById: Map<string, Raw>): Raw {
  const message: Raw = { ...raw };
  if (message.user_profile === undefined && typeof raw.user === 'string') {
    const user = usersById.get(raw.user);
    if (user && !user.is_bot) message.user_profile = userProfileOf(user);
  }
  if (Array.isArray(raw.reply_users) && raw.reply_users_count === undefined) message.reply_users_count = raw.reply_users.length;
  return message;
}

/** Group DMs list their members in mpims.json; conversations.list gives only the name, which spells them out. */
function membersOfGroupDm(conversation: Raw, users: Raw[]): string[] | undefined {
  const match = /^mpdm-(.+)-\d+$/.exec(String(conversation.name ?? ''));
  if (!match) return undefined;
  const byName = new Map(users.map((user) => [String(user.name), String(user.id)]));
  const ids = match[1]!.split('--').map((name) => byName.get(name));
  return ids.every((id) => id !== undefined) ? (ids as string[]) : undefined;
}

/** The entries of one index file (channels.json, dms.json, …): DMs and group DMs with their members, as Slack lists them. */
function indexEntries(kind: ConversationKind, conversations: Raw[], users: Raw[], selfUserId: string | null | undefined): Raw[] {
  return conversations.map((conversation) => {
    if (kind === 'im' && conversation.members === undefined) {
      const members = [conversation.user, selfUserId].filter((id): id is string => typeof id === 'string');
      return { ...conversation, members };
    }
    if (kind === 'mpim' && conversation.members === undefined) {
      const members = membersOfGroupDm(conversation, users);
      return members ? { ...conversation, members } : conversation;
    }
    return conversation;
  });
}

const jsonFile = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, 4));

const missingSlackObject = (document: AnyDocument): TypeError =>
  new TypeError(
    `slackExportSink: document ${document._id} carries no Slack object; build the source with keepSlackObjects: true (or read an archive)`,
  );

export function slackExportSink(options: SlackExportSinkOptions): Sink<AnyDocument> {
  const sink = async (documents: AsyncIterable<AnyDocument>): Promise<SlackExportSinkStats> => {
    const stats: SlackExportSinkStats = {
      documents: 0,
      messages: 0,
      dayFiles: 0,
      conversations: 0,
      users: 0,
      bytes: 0,
      path: options.path,
    };
    const writer: ExportWriter = isZipPath(options.path) ? await zipWriter(options.path) : await folderWriter(options.path);
    const users: Raw[] = [];
    const usersById = new Map<string, Raw>();
    const conversations: Record<ConversationKind, Raw[]> = { public: [], private: [], im: [], mpim: [] };
    const folderByChannel = new Map<string, string>();
    const usedFolders = new Set<string>();
    const finishedFolders = new Set<string>();
    let indexWritten = false;
    let day: { folder: string; date: string; messages: Raw[] } | null = null;

    const folderFor = (conversation: Raw, kind: ConversationKind): string => {
      let folder = folderOf(conversation, kind);
      if (!isSafeFolderName(folder) || usedFolders.has(folder)) folder = String(conversation.id);
      usedFolders.add(folder);
      return folder;
    };

    async function writeIndex(): Promise<void> {
      if (indexWritten) return;
      indexWritten = true;
      for (const kind of Object.keys(conversationFiles) as ConversationKind[]) {
        await writer.add(conversationFiles[kind], jsonFile(indexEntries(kind, conversations[kind], users, options.selfUserId)));
      }
      await writer.add('integration_logs.json', jsonFile([]));
    }

    async function flushDay(): Promise<void> {
      if (!day) return;
      await writer.add(`${day.folder}/${day.date}.json`, jsonFile(day.messages));
      stats.dayFiles++;
      day = null;
    }

    try {
      for await (const document of documents) {
        stats.documents++;
        if (document.type === 'tombstone') continue; // an export is a snapshot: a deleted message is simply absent
        const raw = slackObjectOf(document);
        if (raw === undefined) throw missingSlackObject(document);
        if (document.type === 'user') {
          users.push(raw);
          usersById.set(String(raw.id), raw);
          stats.users++;
          continue;
        }
        if (document.type === 'channel') {
          const kind = kindOf(raw);
          conversations[kind].push(raw);
          folderByChannel.set(String(raw.id), folderFor(raw, kind));
          stats.conversations++;
          continue;
        }
        await writeIndex();
        let folder = folderByChannel.get(document.channel_id);
        if (folder === undefined) {
          // Its channel document was filtered out (sync rules): the messages still go under a folder named by the id.
          folder = document.channel_id;
          folderByChannel.set(document.channel_id, folder);
        }
        const date = dayFileDate(document.ts);
        if (day === null || day.folder !== folder || day.date !== date) {
          const previous = day as { folder: string; date: string } | null;
          await flushDay();
          if (previous && previous.folder !== folder) finishedFolders.add(previous.folder);
          if (finishedFolders.has(folder) || (previous?.folder === folder && date < previous.date)) {
            throw new Error(`slackExportSink: the messages of ${folder} arrive out of order; a day file cannot be written twice`);
          }
          day = { folder, date, messages: [] };
        }
        day.messages.push(exportedMessage(raw, usersById));
        stats.messages++;
      }
      await writeIndex();
      await flushDay();
      // Last, so it also lists the users the run looked up while the messages went by.
      const listed = new Set(users.map((user) => String(user.id)));
      for (const user of options.extraUsers?.() ?? []) if (!listed.has(String(user.id))) users.push(user);
      await writer.add('users.json', jsonFile(users));
      await writer.commit();
      stats.bytes = writer.bytes;
      return stats;
    } catch (error) {
      await writer.abort();
      throw error;
    }
  };
  return defineSink('slack-export', sink);
}
