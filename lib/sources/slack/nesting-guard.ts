// A fetch for @slack/web-api that defuses absurdly nested JSON before the library walks it recursively and overflows the stack.

/**
 * Deepest JSON nesting passed on as is. Slack's deepest documented payloads (a rich text list inside an attachment's
 * blocks inside a message inside a page) stay under 20 levels.
 */
export const maxJsonNesting = 64;

/** Marker the source's converter recognises: the message could not be kept (see to-documents.ts). */
export const malformedMarker = 'slack_etl_malformed';

/** Deepest nesting of a JSON text, strings skipped; stops counting once past `limit`. */
export function jsonNestingDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 92 /* \ */) index++;
      else if (code === 34 /* " */) inString = false;
    } else if (code === 34) inString = true;
    else if (code === 123 /* { */ || code === 91 /* [ */) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (code === 125 /* } */ || code === 93 /* ] */) depth--;
  }
  return deepest;
}

const isContainer = (value: unknown): value is Record<string, unknown> | unknown[] => typeof value === 'object' && value !== null;

/** Nesting depth of a parsed value, without recursion. */
function depthOf(root: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (!isContainer(value)) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Object.values(value)) if (isContainer(child)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * A parsed body with its too-deep parts replaced: a message (in `messages`) nested too deeply becomes a stub the
 * converter skips with a warning; anything else nested past the limit becomes null.
 */
export function defuseNesting(body: unknown, limit = maxJsonNesting): unknown {
  if (isContainer(body) && !Array.isArray(body) && Array.isArray(body.messages)) {
    body.messages = body.messages.map((message: unknown) => {
      // A page is two levels (body, messages array) above its messages.
      if (depthOf(message, limit - 2) <= limit - 2) return message;
      const ts = isContainer(message) && !Array.isArray(message) ? message.ts : undefined;
      return {
        type: 'message',
        ...(typeof ts === 'string' ? { ts } : {}),
        [malformedMarker]: `it is nested more than ${limit} levels deep`,
      };
    });
  }
  const stack: Array<[Record<string, unknown> | unknown[], number]> = isContainer(body) ? [[body, 1]] : [];
  while (stack.length > 0) {
    const [container, depth] = stack.pop()!;
    for (const key of Object.keys(container)) {
      const child = (container as Record<string, unknown>)[key];
      if (!isContainer(child)) continue;
      if (depth + 1 > limit) (container as Record<string, unknown>)[key] = null;
      else stack.push([child, depth + 1]);
    }
  }
  return body;
}

/** Wraps a fetch: a 200 JSON answer nested deeper than the limit reaches the Web API client defused. */
export function nestingGuardedFetch(baseFetch: typeof fetch = globalThis.fetch, limit = maxJsonNesting): typeof fetch {
  return async (input, init) => {
    const response = await baseFetch(input, init);
    if (response.status !== 200 || !(response.headers.get('content-type') ?? '').includes('json')) return response;
    const text = await response.text();
    let body = text;
    if (jsonNestingDepth(text, limit) > limit) {
      try {
        body = JSON.stringify(defuseNesting(JSON.parse(text), limit));
      } catch {
        // Not JSON after all: the client reports it as a malformed body.
      }
    }
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(body, { status: response.status, statusText: response.statusText, headers });
  };
}
