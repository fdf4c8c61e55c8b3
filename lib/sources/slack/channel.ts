// One channel's documents as a stream: history pages and thread replies as they arrive, a bounded amount in flight.

import { compareTs, type AnyDocument, type MessageDocument } from '../../documents.js';
import { skipsChannel, type SourceContext } from './context.js';
import { joinIfNeeded } from './conversations.js';
import { channelHistory } from './history.js';
import { isThreadParent, threadStateOf, type IncrementalDecisions } from './incremental.js';
import { threadReplies } from './replies.js';
import { conversationName, MalformedMessageError, toMessageDocument } from './to-documents.js';

export type ChannelOutcome = 'read' | 'skipped';

/** A thread whose first page of replies is being fetched (or is ready); later pages are fetched as they are consumed. */
interface ThreadRead {
  ts: string;
  replies: AsyncGenerator<Record<string, any>[]>;
  first: Promise<IteratorResult<Record<string, any>[]>>;
}

const byTs = (left: MessageDocument, right: MessageDocument): number => compareTs(left.ts, right.ts);
const quietly = <T>(promise: Promise<T>): Promise<T> => {
  promise.catch(() => {}); // awaited later, or dropped when the run stops
  return promise;
};

/**
 * The messages of a channel in batches: each history page (sorted by ts) as it arrives, then each thread's replies
 * (sorted by ts) after the page holding its parent, then — incremental runs — its tombstones. At most one history
 * page is fetched ahead and `threadConcurrency` threads are in flight or buffered: a consumer that stops pulling
 * stops the fetching. `onEnd` says whether the channel was read completely.
 */
export async function* channelDocuments(
  context: SourceContext,
  channel: Record<string, any>,
  decisions: IncrementalDecisions | undefined,
  onEnd: (outcome: ChannelOutcome) => void,
): AsyncGenerator<AnyDocument[]> {
  const channelId = String(channel.id);
  const skip = (reason?: string): void => {
    if (reason) context.logger.warn(`not syncing channel '${conversationName(channel)}' (${channelId}): ${reason}`);
    context.counters.channelsSkipped++;
    onEnd('skipped');
  };
  if (!(await joinIfNeeded(context, channel))) return skip();

  const toMessages = (raw: Record<string, any>[]): MessageDocument[] => {
    const documents: MessageDocument[] = [];
    for (const [index, message] of raw.entries()) {
      try {
        documents.push(context.keep(toMessageDocument(message, channel, context.teamUrl), message));
      } catch (error) {
        if (!(error instanceof MalformedMessageError)) throw error;
        context.counters.messagesSkipped++;
        context.logger.warn(
          `skipped a message in '${conversationName(channel)}' (${channelId}) at position ${index + 1} of a page: ${error.problem}`,
        );
      }
    }
    return documents.sort(byTs);
  };
  const threads: ThreadRead[] = [];
  const startThread = (ts: string): void => {
    const replies = threadReplies(context, channelId, ts);
    threads.push({ ts, replies, first: quietly(replies.next()) });
  };
  /** Every page of the oldest thread in flight, in order. */
  async function* drainOldestThread(): AsyncGenerator<MessageDocument[]> {
    const thread = threads.shift()!;
    for (let page = await thread.first; !page.done; page = await thread.replies.next()) {
      context.progress?.repliesRead?.(page.value.length);
      const messages = toMessages(page.value);
      decisions?.noteRead(channelId, messages);
      if (messages.length > 0) yield messages;
    }
  }

  let newestTs: string | null = null;
  const history = channelHistory(context, channelId);
  try {
    let next = quietly(history.next());
    for (let page = await next; !page.done; page = await next) {
      // One page ahead: the next history call runs while this page and its threads are handed on.
      next = quietly(history.next());
      context.progress?.messagesRead?.(page.value.length);
      const messages = toMessages(page.value);
      const parents: Array<{ ts: string; state: ReturnType<typeof threadStateOf>; read: boolean }> = [];
      for (const message of page.value) {
        if (typeof message?.ts !== 'string') continue;
        const ts = String(message.ts);
        if (newestTs === null || compareTs(ts, newestTs) > 0) newestTs = ts;
        if (!isThreadParent(message)) continue;
        const read = context.threads && (decisions?.threadNeedsReading(channelId, message) ?? true);
        if (context.threads && !read) context.counters.threadsUnchanged++;
        parents.push({ ts, state: threadStateOf(message), read });
      }
      decisions?.noteRead(channelId, messages, parents);
      if (messages.length > 0) yield messages;
      for (const parent of parents) {
        if (!parent.read) continue;
        while (threads.length >= context.threadConcurrency) yield* drainOldestThread();
        context.progress?.repliesExpected?.(parent.state.replyCount);
        startThread(parent.ts);
      }
    }
    while (threads.length > 0) yield* drainOldestThread();
  } catch (error) {
    if (skipsChannel(error)) return skip(error.slackError === 'pagination_loop' ? error.message : error.slackError);
    throw error;
  } finally {
    // Stopped early (or failed): end the reads still in flight; the run's signal aborts their calls.
    for (const thread of threads.splice(0)) void thread.replies.return(undefined).catch(() => {});
    void history.return(undefined).catch(() => {});
  }
  if (decisions) {
    yield* decisions.tombstones(channelId);
    decisions.channelDone(channelId, newestTs);
  }
  context.counters.channelsRead++;
  onEnd('read');
}
