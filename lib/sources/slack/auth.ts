// auth.test: fail fast on a bad token, check the granted scopes, learn the team.

import type { SlackApiClient } from './client.js';
import type { ChannelType } from './conversations.js';
import { missingScopeError } from './error-policy.js';

export interface Team {
  id: string | null;
  url: string | null;
  userId: string | null;
}

/** Scopes a bot token needs per conversation type: [list, read history]. */
const scopesByType: Record<ChannelType, [string, string]> = {
  public: ['channels:read', 'channels:history'],
  private: ['groups:read', 'groups:history'],
  im: ['im:read', 'im:history'],
  mpim: ['mpim:read', 'mpim:history'],
};

export async function authenticate(
  client: SlackApiClient,
  options: { types: readonly ChannelType[]; autoJoinChannels: boolean },
): Promise<Team> {
  // A rejected token is a ConfigError (exit 2) from the client; Slack unreachable is a failed run (exit 1).
  const auth: Record<string, any> = await client.call('auth.test', {}, 3);
  const granted: unknown = auth.response_metadata?.scopes;
  if (Array.isArray(granted) && granted.length > 0) {
    const needed = new Set<string>(['users:read']);
    for (const type of options.types) for (const scope of scopesByType[type]) needed.add(scope);
    if (options.autoJoinChannels && options.types.includes('public')) needed.add('channels:join');
    const missing = [...needed].filter((scope) => !granted.includes(scope));
    if (missing.length > 0) throw missingScopeError(missing);
  }
  return {
    id: typeof auth.team_id === 'string' ? auth.team_id : null,
    url: typeof auth.url === 'string' ? auth.url : null,
    userId: auth.user_id ?? null,
  };
}
