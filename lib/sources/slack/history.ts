// The history stream of one channel: conversations.history of the window, one page (≤ 999 messages) at a time.

import { pageSizes, type SourceContext } from './context.js';

/** Top-level messages (and thread broadcasts) of the window, page by page, newest page first as Slack pages them. */
export async function* channelHistory(context: SourceContext, channelId: string): AsyncGenerator<Record<string, any>[]> {
  const { oldest, latest } = context;
  const params = {
    channel: channelId,
    limit: pageSizes.history,
    ...(oldest !== null || latest !== null ? { inclusive: true } : {}),
    ...(oldest !== null ? { oldest } : {}),
    ...(latest !== null ? { latest } : {}),
  };
  yield* context.client.paginate('conversations.history', params, 'messages');
}
