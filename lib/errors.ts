// Error classes with a stable `code`, a fix hint and the CLI exit code they map to.

export type ExitCode = 1 | 2;

/** Every code a slack-etl error carries: callers (and `--log-format json` readers) can switch on them. */
export type ErrorCode =
  // usage and configuration (exit 2)
  | 'usage'
  | 'token_missing'
  | 'channels_nothing_to_read'
  | 'rules_unreadable'
  | 'rules_invalid'
  | 'archive_missing'
  | 'archive_invalid'
  | 'unsafe_file'
  | 'locked'
  // output files
  | 'output_directory_missing'
  | 'output_is_directory'
  | 'output_not_writable'
  | 'output_exists'
  | 'output_holds_previous_export'
  | 'disk_full'
  | 'dead_letter_write_failed'
  // state files
  | 'state_unreadable'
  | 'state_invalid'
  | 'state_write_failed'
  | 'state_unwritable'
  | 'state_not_writable'
  | 'state_run_pending'
  | 'state_is_directory'
  | 'state_directory_missing'
  | 'state_disk_full'
  | 'state_no_space'
  | 'state_partial_missing'
  | 'state_partial_mismatch'
  | 'state_foreign'
  // Elasticsearch
  | 'es_url_missing'
  | 'es_url_invalid'
  | 'es_auth'
  | 'es_ca_cert'
  | 'es_unreachable'
  | 'es_request_failed'
  | 'es_not_elasticsearch'
  | 'es_index_invalid'
  | 'es_version_unsupported'
  | 'es_client_incompatible'
  // Slack: `slack_` + Slack's own error (`slack_not_in_channel`, `slack_invalid_auth`), plus ours
  | 'slack_unavailable'
  | 'slack_http_error'
  | `slack_${string}`
  // the run
  | 'interrupted';

export class SlackEtlError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  constructor(code: ErrorCode, message: string, options: { hint?: string; exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad flags, options, files or credentials: exit 2, reported before any data is written. */
export class ConfigError extends SlackEtlError {
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: 2 });
  }
}

/** The run started but could not finish (Slack or Elasticsearch failed beyond retries): exit 1. */
export class RunError extends SlackEtlError {
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: 1 });
  }
}

/** One line for humans: the problem, then the fix. */
export function describeError(error: unknown): string {
  if (error instanceof SlackEtlError) return error.hint ? `${error.message} — ${error.hint}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
