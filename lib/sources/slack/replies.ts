// The replies stream of one thread: conversations.replies, one page (≤ 1000 replies) at a time.

import { SlackApiError } from './client.js';
import { pageSizes, type SourceContext } from './context.js';

/** Replies of a thread without its parent and broadcasts (both already come with the channel's history). */
export async function* threadReplies(context: SourceContext, channelId: string, threadTs: string): AsyncGenerator<Record<string, any>[]> {
  const params = { channel: channelId, ts: threadTs, limit: pageSizes.replies };
  try {
    for await (const messages of context.client.paginate('conversations.replies', params, 'messages', {
      where: `of thread ${threadTs} in channel ${channelId}`,
    })) {
      yield messages.filter((message) => message.ts !== threadTs && message.subtype !== 'thread_broadcast');
    }
  } catch (error) {
    // The parent was deleted between the history read and this call: nothing left to read.
    if (error instanceof SlackApiError && error.slackError === 'thread_not_found') return;
    throw error;
  }
  context.counters.threadsRead++;
}
