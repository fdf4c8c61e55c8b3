// The incremental state file: its JSON format, validation (and migration point) on load, and atomic save.

import { readFile, rm } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { createTemporaryBeside, replaceFile } from '../files.js';

export const stateFormat = 'slack-etl-state';
export const stateVersion = 1;
/** Where a Singer STATE value (see sinks/singer.ts) holds slack-etl's state. */
export const singerStateKey = 'slack_etl_state';

/** What a parent message said about its thread the last time its replies were read. */
export interface ThreadState {
  latestReply: string | null;
  replyCount: number;
}

/** An NDJSON file run that has not finished: its output so far is in `partialPath`, valid up to `committedBytes`. */
export interface RunState {
  path: string;
  partialPath: string;
  committedBytes: number;
  /** Documents a resume wrote again: `_id` → offset before which their earlier line is dropped (NdjsonCheckpoint.repeats). */
  repeats?: Record<string, number>;
}

/** The file the last finished export with this state wrote: the next one must not replace it (README, "Resume"). */
export interface OutputRecord {
  path: string;
  finishedAt: string;
}

export interface StateData {
  format: typeof stateFormat;
  version: typeof stateVersion;
  /** The Slack team the state belongs to; null until the first run authenticated. */
  team: { id: string; url: string | null } | null;
  savedAt: string;
  /** Every document the sink has durably written: `_id` → `content_hash`. */
  documents: Record<string, string>;
  /** Written thread replies (not broadcasts): message `_id` → its `thread_ts`. Tells replies from top-level messages. */
  replies: Record<string, string>;
  /** Per channel, per thread parent ts: the thread as last read completely. */
  threads: Record<string, Record<string, ThreadState>>;
  channels: Record<string, { newestTs: string | null }>;
  run: RunState | null;
  /** Absent in files written before it existed. */
  lastOutput?: OutputRecord | null;
}

export function emptyState(): StateData {
  return {
    format: stateFormat,
    version: stateVersion,
    team: null,
    savedAt: new Date(0).toISOString(),
    documents: {},
    replies: {},
    threads: {},
    channels: {},
    run: null,
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const isByteCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function invalid(path: string, problem: string): ConfigError {
  return new ConfigError('state_invalid', `the state file ${path} is not usable: ${problem}`, {
    hint: 'it was left untouched; pass another --state path (a missing file starts a full run) or restore the file from a backup',
  });
}

/** Parses and checks a state file's text; a future version would be migrated here, an unknown one is refused. */
export function parseState(text: string, path: string): StateData {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(path, 'it is not valid JSON');
  }
  // A Singer target echoes the STATE value `--format singer` wrote (or the whole STATE message): the state is inside.
  if (isRecord(value) && value.type === 'STATE' && isRecord(value.value)) value = value.value;
  if (isRecord(value) && value.format === undefined && isRecord(value[singerStateKey])) value = value[singerStateKey];
  if (!isRecord(value) || value.format !== stateFormat)
    throw invalid(path, `it is not a slack-etl state file (no "format": "${stateFormat}")`);
  if (value.version !== stateVersion) {
    throw invalid(path, `its version ${JSON.stringify(value.version)} is not one this slack-etl reads (it reads version ${stateVersion})`);
  }
  const team = value.team;
  if (team !== null && !(isRecord(team) && typeof team.id === 'string')) throw invalid(path, '"team" is malformed');
  for (const key of ['documents', 'replies', 'threads', 'channels'] as const) {
    if (!isRecord(value[key])) throw invalid(path, `"${key}" is missing or not an object`);
  }
  for (const hash of Object.values(value.documents as Record<string, unknown>))
    if (typeof hash !== 'string') throw invalid(path, '"documents" holds a non-string hash');
  for (const threadTs of Object.values(value.replies as Record<string, unknown>))
    if (typeof threadTs !== 'string') throw invalid(path, '"replies" holds a non-string thread ts');
  for (const threads of Object.values(value.threads as Record<string, unknown>)) {
    if (!isRecord(threads)) throw invalid(path, '"threads" is malformed');
    for (const thread of Object.values(threads))
      if (!isRecord(thread) || typeof thread.replyCount !== 'number') throw invalid(path, '"threads" is malformed');
  }
  const run = value.run;
  if (run !== null && !(isRecord(run) && typeof run.path === 'string' && typeof run.partialPath === 'string'))
    throw invalid(path, '"run" is malformed');
  if (run !== null && !isByteCount(run.committedBytes))
    throw invalid(path, `"run.committedBytes" must be a whole number of bytes, got ${JSON.stringify(run.committedBytes)}`);
  if (run !== null && run.repeats !== undefined && !(isRecord(run.repeats) && Object.values(run.repeats).every(isByteCount)))
    throw invalid(path, '"run.repeats" is malformed');
  const lastOutput = value.lastOutput;
  if (
    lastOutput !== undefined &&
    lastOutput !== null &&
    !(isRecord(lastOutput) && typeof lastOutput.path === 'string' && typeof lastOutput.finishedAt === 'string')
  ) {
    throw invalid(path, '"lastOutput" is malformed');
  }
  return value as unknown as StateData;
}

/** The state at `path`, or null when the file does not exist (a first run). */
export async function readStateFile(path: string): Promise<StateData | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw new ConfigError('state_unreadable', `cannot read the state file ${path}: ${(error as Error).message}`, {
      hint: 'check the path and its permissions',
    });
  }
  return parseState(text, path);
}

/**
 * Temp file in the same directory (created exclusively, 0600 or the state's own mode), fsync, rename, fsync the
 * directory: a reader sees the old or the new state, never a mix.
 */
export async function writeStateFile(path: string, state: StateData): Promise<void> {
  const { path: temporary, handle } = await createTemporaryBeside(path, 'tmp');
  try {
    await handle.writeFile(JSON.stringify(state));
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await replaceFile(temporary, path);
}
