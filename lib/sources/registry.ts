// The sources a run can read from, one line each: a new source adds its own folder and one line here.

import { archiveRunSource } from './archive/run.js';
import { slackRunSource } from './slack/run.js';
import type { RunSourceEntry } from './run-source.js';

/** In order: the first whose `selects` accepts the run's configuration reads it. */
export const runSources: readonly RunSourceEntry[] = [archiveRunSource, slackRunSource];

/** The source entry for a run's configuration (the last one, the Slack API, takes any configuration). */
export const runSourceFor = (config: Parameters<RunSourceEntry['selects']>[0]): RunSourceEntry =>
  runSources.find((entry) => entry.selects(config)) ?? runSources.at(-1)!;
