// Error classes with a stable `code`, a fix hint and the CLI exit code they map to.

export type ExitCode = 1 | 2;

export class SlackEtlError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  constructor(code: string, message: string, options: { hint?: string; exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad flags, options, files or credentials: exit 2, reported before any data is written. */
export class ConfigError extends SlackEtlError {
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: 2 });
  }
}

/** The run started but could not finish (Slack or Elasticsearch failed beyond retries): exit 1. */
export class RunError extends SlackEtlError {
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: 1 });
  }
}

/** One line for humans: the problem, then the fix. */
export function describeError(error: unknown): string {
  if (error instanceof SlackEtlError) return error.hint ? `${error.message} — ${error.hint}` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
