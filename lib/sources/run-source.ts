// What a run needs of any source (identity, lookups for enrich, figures for the progress line), and how one is registered.

import type { CliConfig } from '../cli/options.js';
import type { AnyDocument } from '../documents.js';
import type { Logger } from '../log.js';
import type { ProgressListener } from '../progress.js';
import type { Source, SourceReport } from '../stage.js';
import type { StateStore } from '../state/store.js';
import type { EnrichOptions } from '../transforms/enrich.js';

/** Who the source reads as: the workspace (team) and the account, when the source knows them. */
export interface SourceIdentity {
  id: string | null;
  url: string | null;
  userId: string | null;
}

/** The run's view of a source. */
export interface RunSource extends Source<AnyDocument> {
  report(): SourceReport;
  /** Checks access once, before anything is written (a bad token fails here). */
  team(): Promise<SourceIdentity>;
  /** Lookups the enrich stage may use (users beyond the user documents, bots, channels). */
  lookups: Pick<EnrichOptions, 'lookupUser' | 'lookupBot' | 'lookupChannel'>;
  /** For the progress line: API calls so far and what the source is waiting for. */
  apiCalls?: () => number;
  waits?: () => Array<{ method: string; waitMs: number }>;
  /** The message window, for the summary. */
  window?: { sinceMs: number | null; untilMs: number | null };
}

/** What the run hands a source when it builds it. */
export interface RunSourceContext {
  config: CliConfig;
  now: number | undefined;
  logger: Logger;
  signal: AbortSignal;
  state: StateStore | undefined;
  progress: ProgressListener;
  /** The sink writes the source's own objects (slack-export). */
  keepSourceObjects: boolean | undefined;
  /** Each channel's messages as one block (slack-export). */
  channelBlocks: boolean | undefined;
  /** Channels a resumed run already finished. */
  skipChannels: Iterable<string> | undefined;
}

/** One registered source: when the run's configuration selects it, and how to build it. */
export interface RunSourceEntry {
  name: string;
  selects(config: Pick<CliConfig, 'fromArchive'>): boolean;
  create(context: RunSourceContext): RunSource;
}
