// Secrets never printed (URL passwords, echoed basic-auth headers) and names from Slack cannot forge log lines.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { basicAuthSecret, createLogger, redact } from '../lib/log.js';
import { runCli, startWorkspace, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

t.test('CLI: a Slack URL with user:password@ is refused (exit 2) without printing the password or calling anything', async (t) => {
  const { slack } = await startWorkspace(t, { messageCount: 50, userCount: 20 });
  const withCredentials = slack.url.replace('http://', 'http://admin:pa55word-xyz@');
  for (const how of ['flag', 'env'] as const) {
    const args = ['export', '--out', '-', ...(how === 'flag' ? ['--slack-api-url', withCredentials] : [])];
    // The environment variable through bin/slack-etl.js: the password must not reach a real stderr either.
    const result = await (how === 'env' ? runCli : runCliInProcess)(args, {
      env: { SLACK_TOKEN: testToken, ...(how === 'env' ? { SLACK_API_URL: withCredentials } : {}) },
    });
    t.equal(result.code, 2, `${how}: ${result.stderr}`);
    t.match(result.stderr, /must not carry a user name or password .*remove 'user:password@'/);
    t.notMatch(result.stderr, /pa55word-xyz/, `${how}: the password is not printed`);
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  }
  t.same(slack.stats().callsByMethod, {}, 'Slack was never called');
});

t.test('redact: URL passwords, echoed Authorization headers and the base64 of user:password are masked', async (t) => {
  const basic = basicAuthSecret('elastic', 'hunter22')!;
  t.equal(basic, Buffer.from('elastic:hunter22').toString('base64'));
  const echoed = `401 from server: {"headers":{"authorization":"Basic ${basic}"}} and bare ${basic} at https://elastic:hunter22@es.example:9200/`;
  const masked = redact(echoed, ['hunter22', basic]);
  t.notMatch(masked, basic);
  t.notMatch(masked, 'hunter22');
  t.match(masked, '"authorization":"Basic [redacted]"');
  t.match(masked, 'https://[redacted]@es.example:9200/');
  t.match(
    redact('Authorization: Bearer abc.def-123 next'),
    'Authorization: Bearer [redacted] next',
    'a header of any secret we were not told about',
  );
  t.equal(redact('use Basic authentication or an API key'), 'use Basic authentication or an API key', 'plain words are left alone');
});

t.test('CLI: an Elasticsearch that echoes the basic-auth header never gets its base64 printed', async (t) => {
  const server = createServer((request, response) => {
    response.writeHead(401, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
    response.end(
      JSON.stringify({
        error: { type: 'security_exception', reason: `rejected header authorization: ${request.headers.authorization}` },
        status: 401,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const password = 'Echo-Me-42';
  const result = await runCliInProcess(
    ['sync', '--index', 'slack', '--es-url', `http://127.0.0.1:${port}`, '--es-username', 'elastic', '--es-password', password],
    {
      env: { SLACK_TOKEN: testToken },
    },
  );
  t.not(result.code, 0, result.stderr);
  t.notMatch(result.stderr, Buffer.from(`elastic:${password}`).toString('base64'), 'no base64 credentials');
  t.notMatch(result.stderr, password);
});

t.test('text logs escape control characters from names: one message is one line, terminal escapes are inert', async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ write: (line) => lines.push(line) });
  logger.warn("not syncing channel 'ops\nerror: token leaked\r\u001b[2K' (C1): not_in_channel");
  t.equal(lines.length, 1);
  // eslint-disable-next-line no-control-regex -- the assertion is that no raw control character reaches the log line
  t.notMatch(lines[0], /[\n\r\u001b]/, 'no raw newline, carriage return or escape');
  t.equal(lines[0], "warn: not syncing channel 'ops\\u000aerror: token leaked\\u000d\\u001b[2K' (C1): not_in_channel");
  const json: string[] = [];
  createLogger({ format: 'json', write: (line) => json.push(line) }).warn('a\nb');
  t.equal(JSON.parse(json[0]!).message, 'a\nb', 'JSON logs keep the text exact (JSON escapes it)');
});
