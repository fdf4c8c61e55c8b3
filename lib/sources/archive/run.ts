// A Slack export archive as a run's source (--from-archive): the registry's entry that builds slackArchiveSource.

import type { RunSourceEntry } from '../run-source.js';
import { slackArchiveSource } from './source.js';

export const archiveRunSource: RunSourceEntry = {
  name: 'slack-archive',
  selects: (config) => config.fromArchive !== undefined,
  create({ config, now, logger, keepSourceObjects }) {
    const source = slackArchiveSource({
      path: config.fromArchive!,
      workspaceUrl: config.workspaceUrl,
      fetchLastNDays: config.fetchLastNDays,
      now,
      syncUsers: true, // enrich learns names from user documents and drops them when --no-sync-users
      threads: config.threads,
      channelTypes: config.channelTypes,
      channels: config.channels,
      excludeChannels: config.excludeChannels,
      keepSlackObjects: keepSourceObjects,
      logger,
    });
    return Object.assign(source, { lookups: { lookupUser: source.lookupUser } });
  },
};
