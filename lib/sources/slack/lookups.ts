// Name lookups the enrich stage asks of the Slack source: users.info, bots.info (once per bot), conversations.info (once per id).

import { SlackApiClient, SlackApiError } from './client.js';
import { conversationTitle } from './to-documents.js';

export type ChannelName = { id: string; name: string } | null;
export type BotAnswer = { id: string; name?: string; user_id?: string } | null;

export interface SlackLookups {
  /** users.info for an id missing from users.list (external or new users); null when Slack does not know it. */
  lookupUser(userId: string): Promise<({ id: string } & Record<string, any>) | null>;
  /** bots.info for a bot message that carries no name, once per bot id; null when Slack does not know it. */
  lookupBot(botId: string): Promise<BotAnswer>;
  /** The name of a conversation in a `#channel` mention: from every conversation listed, else conversations.info (once per id). */
  lookupChannel(channelId: string): Promise<ChannelName>;
}

/** The lookups over `client`; `conversationNames` is shared with the listing, which fills it with every conversation it saw. */
export function slackLookups(client: SlackApiClient, conversationNames: Map<string, Promise<ChannelName>>): SlackLookups {
  const botAnswers = new Map<string, Promise<BotAnswer>>();
  return {
    async lookupUser(userId) {
      try {
        const answer = await client.call('users.info', { user: userId });
        return (answer.user as ({ id: string } & Record<string, any>) | undefined) ?? null;
      } catch (error) {
        if (error instanceof SlackApiError && (error.slackError === 'user_not_found' || error.slackError === 'users_not_found'))
          return null;
        throw error;
      }
    },
    lookupBot(botId) {
      let answer = botAnswers.get(botId);
      if (answer === undefined) {
        answer = client.call('bots.info', { bot: botId }).then(
          (body) => (body.bot && typeof body.bot === 'object' ? (body.bot as NonNullable<BotAnswer>) : null),
          (error: unknown) => {
            if (error instanceof SlackApiError && error.slackError === 'bot_not_found') return null;
            botAnswers.delete(botId);
            throw error;
          },
        );
        botAnswers.set(botId, answer);
      }
      return answer;
    },
    lookupChannel(channelId) {
      let answer = conversationNames.get(channelId);
      if (answer === undefined) {
        answer = client.call('conversations.info', { channel: channelId }).then(
          (body) => (body.channel && typeof body.channel === 'object' ? { id: channelId, name: conversationTitle(body.channel) } : null),
          (error: unknown) => {
            // Not visible to the token (private, another workspace's, or a scope not granted): the mention stays an id.
            if (error instanceof SlackApiError && ['channel_not_found', 'missing_scope', 'access_denied'].includes(error.slackError))
              return null;
            conversationNames.delete(channelId);
            throw error;
          },
        );
        conversationNames.set(channelId, answer);
      }
      return answer;
    },
  };
}
