// The Slack Web API as a run's source: the registry's entry that builds slackSource from the run's configuration.

import type { RunSourceEntry } from '../run-source.js';
import { slackSource } from './source.js';

export const slackRunSource: RunSourceEntry = {
  name: 'slack',
  selects: () => true,
  create({ config, now, logger, signal, state, progress, keepSourceObjects, channelBlocks, skipChannels }) {
    const source = slackSource({
      token: config.token!,
      slackApiUrl: config.slackApiUrl,
      fetchLastNDays: config.fetchLastNDays,
      since: config.since,
      until: config.until,
      timeZone: config.timeZone,
      autoJoinChannels: config.autoJoinChannels,
      syncUsers: true, // enrich learns names from user documents and drops them when --no-sync-users
      threads: config.threads,
      channelTypes: config.channelTypes,
      channels: config.channels,
      excludeChannels: config.excludeChannels,
      concurrency: config.concurrency,
      tierRates: config.tierRates,
      now,
      logger,
      signal,
      state,
      keepSlackObjects: keepSourceObjects,
      progress,
      channelBlocks,
      skipChannels,
    });
    return Object.assign(source, {
      apiCalls: () => source.client.stats().calls,
      waits: () => source.client.waits(),
    });
  },
};
