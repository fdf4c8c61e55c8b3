// Logging to stderr as text or JSON lines, with secrets redacted from every message.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** Values that must never be printed (tokens, API keys, passwords). */
  secrets?: Array<string | undefined>;
  write?: (line: string) => void;
}

/** Replace every occurrence of a secret (and Slack-token-looking strings) with a mask. */
export function redact(text: string, secrets: Array<string | undefined> = []): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out.replace(/xox[abpers]-[A-Za-z0-9-]+/g, 'xox?-[redacted]');
}

/** A URL for messages: without `user:password@`, query or trailing slash (an unparsable one loses only its userinfo). */
export function displayUrl(text: string): string {
  try {
    const url = new URL(text);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return text.replace(/\/\/[^/@]*@/, '//');
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'text';
  const threshold = levelOrder[options.level ?? 'info'];
  const secrets = options.secrets ?? [];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const log = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (levelOrder[level] < threshold) return;
    const line =
      format === 'json'
        ? JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })
        : `${level === 'info' ? '' : `${level}: `}${message}`;
    write(redact(line, secrets));
  };
  return {
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
