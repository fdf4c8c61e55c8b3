// slack-etl command line: dispatches the commands, turns every error into one line and an exit code.

import { readFileSync } from 'node:fs';
import { SlackEtlError, describeError } from '../errors.js';
import { escapeControlCharacters, redact } from '../log.js';
import { secretsOf, type CliConfig, type CommandName } from './options.js';
import { commandHelp, generalHelp, rulesHelp } from './help.js';
import { parseCommandLine } from './parse-options.js';
import type { CliIo } from './job.js';
import { runRulesCheck } from './rules-check.js';

export const processIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stderrIsTTY: Boolean(process.stderr.isTTY),
  stdoutIsTTY: Boolean(process.stdout.isTTY),
});

// Loaded on demand: the Elasticsearch client and the demo's fake are slow to import and only one command needs each.
const commands: Record<CommandName, (config: CliConfig, io: CliIo, subject?: string) => Promise<number>> = {
  export: async (config, io) => (await import('./commands/export.js')).runExport(config, io),
  sync: async (config, io) => (await import('./commands/sync.js')).runSync(config, io),
  demo: async (config, io) => (await import('./commands/demo.js')).runDemo(config, io),
  connector: async (config, io) => (await import('./commands/connector.js')).runConnector(config, io),
  list: async (config, io, subject) => (await import('./commands/list.js')).runList(config, io, subject),
};

const helpFlags = new Set(['--help', '-h']);

/** The version in package.json (two levels up from lib/cli in the sources, three from dist/lib/cli). */
export function packageVersion(): string {
  for (const relative of ['../../package.json', '../../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'slack-etl' && manifest.version) return manifest.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  let config: CliConfig | undefined;
  const print = (stream: 'stdout' | 'stderr', text: string) => io[stream].write(text.endsWith('\n') ? text : text + '\n');
  try {
    if (command === undefined || helpFlags.has(command)) {
      print(command === undefined ? 'stderr' : 'stdout', generalHelp);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === '-V') {
      print('stdout', `slack-etl ${packageVersion()}`);
      return 0;
    }
    if (command === 'help') {
      const [topic, ...extra] = rest;
      if (topic === undefined) {
        print('stdout', generalHelp);
        return 0;
      }
      if (extra.length > 0 && !(topic === 'rules' && extra.join(' ') === 'check')) {
        print('stderr', "slack-etl: error: usage is 'slack-etl help [COMMAND]'");
        return 2;
      }
      if (topic === 'rules') {
        print('stdout', rulesHelp);
        return 0;
      }
      if (!(topic in commands)) {
        print('stderr', `slack-etl: error: unknown command '${topic}' — run 'slack-etl --help' for the commands`);
        return 2;
      }
      print('stdout', commandHelp(topic as CommandName));
      return 0;
    }
    if (command === 'rules') {
      if (rest.some((argument) => helpFlags.has(argument))) {
        print('stdout', rulesHelp);
        return 0;
      }
      const [action, path, ...extra] = rest;
      if (action !== 'check' || !path || extra.length > 0 || path.startsWith('--')) {
        print('stderr', "slack-etl: error: usage is 'slack-etl rules check FILE' — see 'slack-etl rules --help'");
        return 2;
      }
      return await runRulesCheck(path, { stdout: (line) => print('stdout', line), stderr: (line) => print('stderr', line) });
    }
    if (!(command in commands)) {
      print('stderr', `slack-etl: error: unknown command '${command}' — run 'slack-etl --help' for the commands`);
      return 2;
    }
    const name = command as CommandName;
    // `list` takes what to list first: `slack-etl list channels --channel-types public,private`.
    const subject = name === 'list' && rest[0] !== undefined && !rest[0].startsWith('-') ? rest.shift() : undefined;
    config = parseCommandLine(name, rest, io.env);
    if (config.help) {
      print('stdout', commandHelp(name));
      return 0;
    }
    if (config.dryRun) return await (await import('./commands/dry-run.js')).runDryRun(config, io);
    return await commands[name](config, io, subject);
  } catch (error) {
    const secrets = config ? secretsOf(config) : [io.env.SLACK_TOKEN, io.env.ELASTICSEARCH_API_KEY, io.env.ELASTICSEARCH_PASSWORD];
    const line = escapeControlCharacters(redact(`slack-etl: error: ${describeError(error)}`, secrets));
    if (config?.logFormat === 'json') {
      print(
        'stderr',
        redact(
          JSON.stringify({
            level: 'error',
            message: describeError(error),
            code: (error as SlackEtlError).code,
            stack: (error as Error).stack,
          }),
          secrets,
        ),
      );
    } else {
      print('stderr', line);
    }
    return error instanceof SlackEtlError ? error.exitCode : 1;
  }
}
