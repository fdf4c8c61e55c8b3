// Cursor-paged Slack list methods (conversations.list, users.list) as async iterables, one page in memory at a time.

import type { SlackApiClient } from './client.js';

/** Largest page Slack's list methods accept, for the fewest calls. */
export const listPageSize = 999;

export async function* listPaged(
  client: Pick<SlackApiClient, 'call'>,
  method: string,
  params: Record<string, unknown>,
  key: string,
): AsyncGenerator<Record<string, any>> {
  let cursor: string | undefined;
  do {
    const page = await client.call(method, { ...params, limit: listPageSize, ...(cursor ? { cursor } : {}) });
    yield* (page[key] as Record<string, any>[] | undefined) ?? [];
    cursor = page.response_metadata?.next_cursor || undefined;
  } while (cursor);
}
