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

/** Replace every occurrence of a secret (and anything that looks like a credential) with a mask. */
export function redact(text: string, secrets: Array<string | undefined> = []): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  return (
    out
      .replace(/xox[abpers]-[A-Za-z0-9-]+/g, 'xox?-[redacted]')
      // An Authorization header a server echoes back (basic auth is only base64 of user:password).
      .replace(/(authorization["']?\s*[:=]\s*["']?)(Basic|Bearer|ApiKey)\s+[^\s"',;}]+/gi, '$1$2 [redacted]')
      // user:password@ in any URL.
      .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*:[^\s/@]*@/gi, '$1[redacted]@')
  );
}

/** The base64 `user:password` of HTTP basic auth, as a secret to redact (servers may echo the header). */
export function basicAuthSecret(username: string | undefined, password: string | undefined): string | undefined {
  return password ? Buffer.from(`${username ?? ''}:${password}`).toString('base64') : undefined;
}

/**
 * Control characters (newlines, carriage returns, terminal escapes) in text that came from outside — channel and user
 * names, server messages — written as `\u000a`, so they cannot forge or hide log lines.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- matching control characters is this function's job: they are what it escapes
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
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
        : `${level === 'info' ? '' : `${level}: `}${escapeControlCharacters(message)}`;
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
