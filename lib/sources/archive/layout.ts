// Slack's official export layout: the index files, which conversations each holds, folder names, and day-file dates.

import { DateTime } from 'luxon';

type Raw = Record<string, any>;

export type ConversationKind = 'public' | 'private' | 'im' | 'mpim';

/** users.json; Enterprise Grid org-wide exports call it org_users.json. */
export const usersFiles = ['users.json', 'org_users.json'] as const;

/** The index file of each conversation kind ("All channels and conversations" exports add the last three). */
export const conversationFiles: Record<ConversationKind, string> = {
  public: 'channels.json',
  private: 'groups.json',
  im: 'dms.json',
  mpim: 'mpims.json',
};

/**
 * Slack dates day files by the Pacific calendar day of the message `ts` (America/Los_Angeles, with daylight saving),
 * not by UTC and not by the exporting admin's zone; slackdump changed its exporter to this zone to match Slack
 * (rusq/slackdump a325cba, "align export timezone to slack"). Replies are filed under their own `ts`, not the parent's.
 */
export const exportTimeZone = 'America/Los_Angeles';

/** `YYYY-MM-DD` of the day file a message with this `ts` belongs in. */
export function dayFileDate(ts: string): string {
  const seconds = Number(ts.split('.')[0]);
  return DateTime.fromSeconds(seconds, { zone: exportTimeZone }).toISODate()!;
}

export const dayFilePattern = /^(\d{4}-\d{2}-\d{2})\.json$/;

export function kindOf(conversation: Raw): ConversationKind {
  if (conversation.is_im) return 'im';
  if (conversation.is_mpim) return 'mpim';
  return conversation.is_private ? 'private' : 'public';
}

/**
 * The folder of a conversation: channels, private channels and group DMs by name, DMs by id (as Slack names them and
 * slack-export-viewer looks them up).
 */
export function folderOf(conversation: Raw, kind: ConversationKind = kindOf(conversation)): string {
  return kind === 'im' ? String(conversation.id) : String(conversation.name ?? conversation.id);
}

/** A folder name must stay one path segment inside the archive. */
export function isSafeFolderName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}
