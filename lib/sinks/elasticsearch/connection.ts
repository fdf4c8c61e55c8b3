// Connecting to Elasticsearch 8.x and 9.x: the client, the version check, REST compatibility headers, and errors a user can act on.

import { readFileSync } from 'node:fs';
import { Client, SniffingTransport } from '@elastic/elasticsearch';
import type { TransportRequestOptions, TransportRequestParams } from '@elastic/elasticsearch';
import { ConfigError, RunError, SlackEtlError } from '../../errors.js';
import { displayUrl, redact } from '../../log.js';

export interface ElasticsearchConnectionOptions {
  /** `http(s)://host:port`; credentials in the URL work but the flags are safer (they never reach logs). */
  node: string;
  /** The encoded API key (`ApiKey <key>` on the wire), as Kibana shows it. */
  apiKey?: string;
  username?: string;
  password?: string;
  /** PEM file of the CA that signed the cluster's certificate (self-managed clusters). */
  caCertPath?: string;
  /** Per-request timeout; default 30 000 ms. */
  requestTimeoutMs?: number;
}

const defaultRequestTimeoutMs = 30_000;
/** The oldest 8.x the 9.x client's requests work with (compatible-with=8). */
const minimumVersion = { major: 8, minor: 13 };

/**
 * The 9.x client marks every request `compatible-with=9`, which an 8.x cluster rejects (400
 * media_type_header_exception). This transport sends the headers of the cluster's major instead, and none at all
 * (plain JSON, which every version answers) until the version is known.
 */
export class VersionedTransport extends SniffingTransport {
  compatibleWith: 8 | 9 | null = null;

  override request(params: TransportRequestParams, options: TransportRequestOptions = {}): Promise<any> {
    if (this.compatibleWith !== 9) {
      const ndjson = params.bulkBody != null;
      const version = this.compatibleWith;
      const headers =
        version === null
          ? { accept: 'application/json', 'content-type': ndjson ? 'application/x-ndjson' : 'application/json' }
          : {
              accept: `application/vnd.elasticsearch+json; compatible-with=${version}`,
              'content-type': `application/vnd.elasticsearch+${ndjson ? 'x-ndjson' : 'json'}; compatible-with=${version}`,
            };
      options = { ...options, headers: { ...headers, ...options.headers } };
    }
    return super.request(params, options);
  }
}

/** Removes secrets and any `user:password@` from a message that came from the client or the network. */
export function sanitize(text: string, secrets: Array<string | undefined>): string {
  return redact(text, secrets).replace(/\/\/[^/\s@]*:[^/\s@]*@/g, '//');
}

export function secretsOf(options: Partial<ElasticsearchConnectionOptions>): Array<string | undefined> {
  const secrets = [options.apiKey, options.password];
  try {
    if (options.node) secrets.push(decodeURIComponent(new URL(options.node).password) || undefined);
  } catch {
    // An unparsable URL is reported elsewhere; nothing to extract.
  }
  return secrets;
}

export function createElasticsearchClient(options: ElasticsearchConnectionOptions): Client {
  let url: URL;
  try {
    url = new URL(options.node);
  } catch {
    throw new ConfigError('es_url_invalid', 'the Elasticsearch URL is not a valid URL', {
      hint: 'pass --es-url (or ELASTICSEARCH_URL) like http://localhost:9200',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('es_url_invalid', `the Elasticsearch URL ${displayUrl(options.node)} must start with http:// or https://`, {
      hint: 'pass --es-url (or ELASTICSEARCH_URL) like https://localhost:9200',
    });
  }
  let ca: Buffer | undefined;
  if (options.caCertPath) {
    try {
      ca = readFileSync(options.caCertPath);
    } catch (error) {
      throw new ConfigError(
        'es_ca_cert',
        `cannot read the CA certificate ${options.caCertPath}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
        {
          hint: 'pass --es-ca-cert the PEM file of the CA that signed the cluster certificate (e.g. config/certs/http_ca.crt)',
        },
      );
    }
  }
  const auth = options.apiKey
    ? { apiKey: options.apiKey }
    : options.username !== undefined
      ? { username: options.username, password: options.password ?? '' }
      : undefined;
  return new Client({
    node: options.node,
    ...(auth ? { auth } : {}),
    ...(ca ? { tls: { ca } } : {}),
    requestTimeout: options.requestTimeoutMs ?? defaultRequestTimeoutMs,
    Transport: VersionedTransport,
  });
}

export interface ErrorLike {
  name?: string;
  message?: string;
  meta?: { statusCode?: number; body?: unknown };
}

export const statusOf = (error: unknown): number | undefined => (error as ErrorLike | null)?.meta?.statusCode;

/** Names, not `instanceof`: a client from the package's CommonJS build throws classes the ESM build does not know. */
export function isTransient(error: unknown): boolean {
  const name = (error as ErrorLike | null)?.name;
  if (name === 'ConnectionError' || name === 'TimeoutError' || name === 'NoLivingConnectionsError') return true;
  if (name !== 'ResponseError') return false;
  const status = statusOf(error);
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

function responseReason(error: unknown): string {
  const body = (error as ErrorLike).meta?.body as { error?: { type?: string; reason?: string } | string } | undefined;
  if (body && typeof body.error === 'object') return [body.error.type, body.error.reason].filter(Boolean).join(': ');
  if (body && typeof body.error === 'string') return body.error;
  return (error as ErrorLike).message ?? 'unknown error';
}

/**
 * One error type per cause the user can act on: credentials (exit 2), an unreachable URL (exit 2),
 * something that is not Elasticsearch (exit 2), everything else a failed run (exit 1). No secret reaches the message.
 */
export function toSlackEtlError(
  error: unknown,
  node: string,
  secrets: Array<string | undefined>,
  action: string,
  afterWrites = false,
): SlackEtlError {
  if (error instanceof SlackEtlError) return error;
  const url = displayUrl(node);
  const name = (error as ErrorLike | null)?.name;
  const status = statusOf(error);
  const detail = sanitize(
    name === 'ResponseError' ? responseReason(error) : ((error as ErrorLike | null)?.message ?? String(error)),
    secrets,
  );
  if (name === 'ResponseError' && status === 401) {
    return new ConfigError('es_auth', `Elasticsearch at ${url} rejected the credentials: authentication failed (401 ${detail})`, {
      hint:
        'pass a valid API key with --es-api-key (or ELASTICSEARCH_API_KEY), ' +
        'or --es-username/--es-password (ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD)',
    });
  }
  if (name === 'ResponseError' && status === 403) {
    return new ConfigError('es_auth', `Elasticsearch at ${url} authenticated the credentials but refused to ${action} (403 ${detail})`, {
      hint:
        'use an API key (--es-api-key / ELASTICSEARCH_API_KEY) or user with the cluster privilege `monitor` ' +
        'and the index privileges `manage`, `read`, `write` on the index',
    });
  }
  if (name === 'ConnectionError' || name === 'TimeoutError' || name === 'NoLivingConnectionsError') {
    // Unreachable from the start is a wrong URL (a usage error); lost in the middle of a run, it is a failed run.
    const ErrorClass = afterWrites ? RunError : ConfigError;
    return new ErrorClass('es_unreachable', `Elasticsearch is unreachable at ${url} (${detail})`, {
      hint: afterWrites
        ? 'the connection was lost through every retry; run again when the cluster is back'
        : 'check --es-url (or ELASTICSEARCH_URL), that the cluster runs, and for https --es-ca-cert',
      cause: error,
    });
  }
  if (name === 'ProductNotSupportedError') {
    return new ConfigError('es_not_elasticsearch', `the server at ${url} is not Elasticsearch (no x-elastic-product header)`, {
      hint: 'point --es-url at an Elasticsearch 8 or 9 cluster',
    });
  }
  const what = [status === undefined ? undefined : `HTTP ${status}`, detail].filter(Boolean).join(' ');
  return new RunError('es_request_failed', `Elasticsearch at ${url} failed to ${action}: ${what || 'unknown error'}`, {
    hint: isTransient(error)
      ? 'the cluster stayed overloaded or unavailable through every retry; try again later or raise the retries'
      : undefined,
    cause: error,
  });
}

/** Elasticsearch's index name rules, checked before any request so a typo is a usage error, not a failed run. */
export function checkIndexName(index: string): void {
  const problem =
    index === '' || index === '.' || index === '..'
      ? 'is empty or a dot'
      : index !== index.toLowerCase()
        ? 'must be lowercase'
        : /[\\/*?"<>| ,#:]/.test(index)
          ? 'must not contain \\ / * ? " < > | space , # :'
          : /^[-_+]/.test(index)
            ? 'must not start with -, _ or +'
            : Buffer.byteLength(index) > 255
              ? 'is longer than 255 bytes'
              : undefined;
  if (problem)
    throw new ConfigError('es_index_invalid', `the index name "${index}" ${problem}`, {
      hint: 'pass --index a name like slack or slack-acme',
    });
}

export interface ClusterInfo {
  /** `version.number` of `GET /`, or null when the credentials may not read it (then compatible-with=8, which 8.x and 9.x accept). */
  version: string | null;
}

const detected = new WeakMap<Client, ClusterInfo>();

function unsupportedVersion(version: string, node: string): ConfigError {
  return new ConfigError(
    'es_version_unsupported',
    `Elasticsearch ${version} at ${displayUrl(node)} is not supported: slack-etl needs 8.13 or later (8.x or 9.x)`,
    {
      hint: 'upgrade the cluster to 8.13+ or 9.x, or point --es-url (ELASTICSEARCH_URL) at one that is',
    },
  );
}

/**
 * `GET /` proves the URL, the credentials and that the server is Elasticsearch, and tells its version, which decides the
 * compatibility headers of every later request. Once per client; the CLI calls it before any Slack call.
 */
export async function connectElasticsearch(
  client: Client,
  node: string,
  index?: string,
  /** How to send one request; the sink passes its retries with backoff. Default: one transport retry. */
  send: <T>(action: string, request: (options: TransportRequestOptions) => Promise<T>) => Promise<T> = (_action, request) =>
    request({ maxRetries: 1 }),
): Promise<ClusterInfo> {
  const known = detected.get(client);
  if (known) return known;
  const secrets = secretsOf({ node });
  const transport = client.transport as unknown as Partial<VersionedTransport>;
  const versioned = client.transport instanceof VersionedTransport;
  if (versioned) transport.compatibleWith = null;
  let version: string | null = null;
  try {
    const info = await send('answer GET /', (options) => client.info({}, options));
    version = String(info.version?.number ?? '');
  } catch (error) {
    if (error instanceof SlackEtlError) throw error;
    const status = statusOf(error);
    const body = (error as ErrorLike).meta?.body as { version?: { number?: unknown; distribution?: unknown } } | undefined;
    // Elasticsearch before 7.14 sends no product header; say "too old", not "not Elasticsearch".
    if (
      (error as ErrorLike).name === 'ProductNotSupportedError' &&
      typeof body?.version?.number === 'string' &&
      body.version.distribution === undefined
    ) {
      throw unsupportedVersion(body.version.number, node);
    }
    // An API key limited to index privileges may not read cluster info: prove the rest with the index alone.
    if (!(status === 403 && index !== undefined)) throw toSlackEtlError(error, node, secrets, 'answer GET /');
  }
  if (version !== null) {
    const match = /^(\d+)\.(\d+)/.exec(version);
    const major = match ? Number(match[1]) : NaN;
    const minor = match ? Number(match[2]) : NaN;
    if (!match || major < minimumVersion.major || (major === minimumVersion.major && minor < minimumVersion.minor))
      throw unsupportedVersion(version || 'of unknown version', node);
    if (versioned) transport.compatibleWith = major === 8 ? 8 : 9;
    else if (major === 8) {
      throw new ConfigError(
        'es_client_incompatible',
        `Elasticsearch ${version} at ${displayUrl(node)} rejects the requests of a client made with new Client()`,
        {
          hint: 'create the client with createElasticsearchClient(), which speaks to 8.x and 9.x clusters',
        },
      );
    }
  } else {
    if (versioned) transport.compatibleWith = 8;
    try {
      await send(`answer HEAD /${index!}`, (options) => client.indices.exists({ index: index! }, options));
    } catch (error) {
      throw toSlackEtlError(error, node, secrets, `answer HEAD /${index!}`);
    }
  }
  const info = { version };
  detected.set(client, info);
  return info;
}

/** The CLI's preflight: one cheap check before any Slack call. */
export async function checkElasticsearch(client: Client, node: string, index?: string): Promise<void> {
  await connectElasticsearch(client, node, index);
}
