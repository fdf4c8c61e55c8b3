// What each Slack failure means for a run: one table (Slack error code → config | retry | skip-channel | fatal).

import { ConfigError } from '../../errors.js';

/**
 * - `config`: the token or the app's setup is wrong; exit 2 with the fix, nothing read further.
 * - `retry`: transient; retried with backoff (rate limits: after their wait, without using up attempts).
 * - `skip-channel`: this conversation cannot be read by us; skipped with a warning and counted, the run goes on.
 * - `fatal`: anything else; the run stops (exit 1).
 */
export type SlackErrorAction = 'config' | 'retry' | 'skip-channel' | 'fatal';

/**
 * Slack's `error` codes (HTTP 200 `ok:false`), plus `http_<status>` for other HTTP answers and a few names for
 * failures below HTTP. Codes not listed here are `fatal`. README's "What happens when…" lists the same (tested).
 */
export const slackErrorPolicy = {
  // The token: wrong, revoked, of the wrong kind, or missing a scope.
  invalid_auth: 'config',
  not_authed: 'config',
  account_inactive: 'config',
  token_revoked: 'config',
  token_expired: 'config',
  no_permission: 'config',
  not_allowed_token_type: 'config',
  missing_scope: 'config',
  http_401: 'config',
  http_403: 'config',
  // Slack is busy or briefly down.
  ratelimited: 'retry',
  http_429: 'retry',
  internal_error: 'retry',
  fatal_error: 'retry',
  service_unavailable: 'retry',
  request_timeout: 'retry',
  http_408: 'retry',
  http_5xx: 'retry',
  network_error: 'retry',
  timeout: 'retry',
  malformed_response: 'retry',
  // One conversation we may not read, or whose pages never end.
  not_in_channel: 'skip-channel',
  channel_not_found: 'skip-channel',
  is_archived: 'skip-channel',
  method_not_supported_for_channel_type: 'skip-channel',
  access_denied: 'skip-channel',
  channel_is_limited_access: 'skip-channel',
  pagination_loop: 'skip-channel',
} as const satisfies Record<string, SlackErrorAction>;

export type KnownSlackError = keyof typeof slackErrorPolicy;

/** The action for a Slack error code or an HTTP status (as `http_<status>`; every 5xx is `http_5xx`). */
export function actionFor(code: string): SlackErrorAction {
  const key = /^http_5\d\d$/.test(code) ? 'http_5xx' : code;
  return (slackErrorPolicy as Record<string, SlackErrorAction>)[key] ?? 'fatal';
}

const tokenHint = 'set SLACK_TOKEN or --token to a valid bot token (xoxb-…) of an installed app';

/** The exit-2 error for a `config` failure of `method`. */
export function configErrorFor(method: string, code: string, needed?: string): ConfigError {
  if (code === 'missing_scope') return missingScopeError([needed ?? `the scope ${method} needs`]);
  const what = code.startsWith('http_') ? `HTTP ${code.slice(5)}` : code;
  return new ConfigError('slack_auth', `Slack rejected the token${method === 'auth.test' ? '' : ` during ${method}`} (${what})`, {
    hint: tokenHint,
  });
}

export function missingScopeError(scopes: string[]): ConfigError {
  return new ConfigError('slack_missing_scope', `the Slack token lacks the scope${scopes.length > 1 ? 's' : ''} ${scopes.join(', ')}`, {
    hint:
      'add them under OAuth & Permissions of the Slack app, reinstall it, and use the new token ' +
      '(or drop the channel types that need them)',
  });
}
