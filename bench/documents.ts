// Realistic benchmark documents: raw messages of a generated workspace, cycled with distinct ts, through the source's own converters.

import { readFile, writeFile } from 'node:fs/promises';
import { generateWorkspace, type WorkspaceSize } from '../fixtures/slack-api/generator.js';
import type { AnyDocument, MessageDocument } from '../lib/documents.js';
import { toChannelDocument, toMessageDocument, toUserDocument } from '../lib/sources/slack/to-documents.js';

type Raw = Record<string, any>;

export interface Templates {
  teamUrl: string;
  users: Raw[];
  channels: Raw[];
  /** Raw top-level messages and replies (broadcasts once), each with the index of its channel. */
  messages: Array<{ channel: number; message: Raw }>;
}

/**
 * Only the raw fields toMessageDocument reads: the documents come out identical, and the templates stay small enough
 * that the figure's peak RSS is the pipeline's, not the fixture's (reaction user lists and the like are dropped).
 */
function slim(message: Raw): Raw {
  const kept: Raw = {};
  for (const key of [
    'ts',
    'text',
    'user',
    'bot_id',
    'subtype',
    'username',
    'thread_ts',
    'reply_count',
    'latest_reply',
    'attachments',
    'files',
    'blocks',
  ]) {
    if (message[key] !== undefined) kept[key] = message[key];
  }
  if (message.bot_profile?.name !== undefined) kept.bot_profile = { name: message.bot_profile.name };
  if (message.user_profile !== undefined) kept.user_profile = message.user_profile;
  if (message.edited?.ts !== undefined) kept.edited = { ts: message.edited.ts };
  if (Array.isArray(message.reactions))
    kept.reactions = message.reactions.map((reaction: Raw) => ({ name: reaction.name, count: reaction.count }));
  return kept;
}

export async function writeTemplates(path: string, size: WorkspaceSize): Promise<number> {
  const workspace = generateWorkspace({ size, seed: 1 });
  const messages: Templates['messages'] = [];
  workspace.channels.forEach((channel, index) => {
    for (const message of channel.messages) messages.push({ channel: index, message: slim(message) });
    for (const replies of channel.replies.values()) {
      for (const reply of replies) if (reply.subtype !== 'thread_broadcast') messages.push({ channel: index, message: slim(reply) });
    }
  });
  const templates: Templates = {
    teamUrl: workspace.team.url,
    users: workspace.users,
    channels: workspace.channels.map((channel) => channel.info),
    messages,
  };
  await writeFile(path, JSON.stringify(templates));
  return messages.length;
}

export async function readTemplates(path: string): Promise<Templates> {
  return JSON.parse(await readFile(path, 'utf8')) as Templates;
}

/** Each cycle over the templates moves every timestamp this many seconds on (more than the generated history spans). */
const cycleOffsetSeconds = 100_000_000;

function shiftTs(ts: unknown, offset: number): unknown {
  if (typeof ts !== 'string' || offset === 0) return ts;
  const dot = ts.indexOf('.');
  return dot === -1 ? String(Number(ts) + offset) : `${Number(ts.slice(0, dot)) + offset}${ts.slice(dot)}`;
}

/** The n-th message of the endless sequence: a template with every ts shifted by its cycle, converted as the source does. */
export function messageAt(templates: Templates, position: number): MessageDocument {
  const count = templates.messages.length;
  const template = templates.messages[position % count]!;
  const offset = Math.floor(position / count) * cycleOffsetSeconds;
  const raw = template.message;
  const shifted: Raw =
    offset === 0
      ? raw
      : {
          ...raw,
          ts: shiftTs(raw.ts, offset),
          thread_ts: shiftTs(raw.thread_ts, offset),
          latest_reply: shiftTs(raw.latest_reply, offset),
          edited: raw.edited ? { ...raw.edited, ts: shiftTs(raw.edited.ts, offset) } : raw.edited,
        };
  return toMessageDocument(shifted, templates.channels[template.channel]!, templates.teamUrl);
}

/** Users and channels first (as the source emits them), then `messageCount` messages generated on the fly. */
export async function* benchmarkDocuments(templates: Templates, messageCount: number): AsyncGenerator<AnyDocument> {
  for (const user of templates.users) yield toUserDocument(user);
  for (const channel of templates.channels) yield toChannelDocument(channel, templates.teamUrl);
  for (let position = 0; position < messageCount; position++) yield messageAt(templates, position);
}

export const documentCount = (templates: Templates, messageCount: number): number =>
  templates.users.length + templates.channels.length + messageCount;
