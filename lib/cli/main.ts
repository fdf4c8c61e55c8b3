// slack-etl command line: dispatches the commands, turns every error into one line and an exit code.

import { SlackEtlError, describeError } from '../errors.js';
import { escapeControlCharacters, redact } from '../log.js';
import { commandHelp, generalHelp, parseCommandLine, secretsOf, type CliConfig, type CommandName } from './options.js';
import type { CliIo } from './job.js';
import { runRulesCheck } from './rules-check.js';

export const processIo = (): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stderrIsTTY: Boolean(process.stderr.isTTY),
});

// Loaded on demand: the Elasticsearch client and the demo's fake are slow to import and only one command needs each.
const commands: Record<CommandName, (config: CliConfig, io: CliIo) => Promise<number>> = {
  export: async (config, io) => (await import('./commands/export.js')).runExport(config, io),
  sync: async (config, io) => (await import('./commands/sync.js')).runSync(config, io),
  demo: async (config, io) => (await import('./commands/demo.js')).runDemo(config, io),
  connector: async (config, io) => (await import('./commands/connector.js')).runConnector(config, io),
};

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  let config: CliConfig | undefined;
  const print = (stream: 'stdout' | 'stderr', text: string) => io[stream].write(text.endsWith('\n') ? text : text + '\n');
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      print(command === undefined ? 'stderr' : 'stdout', generalHelp);
      return command === undefined ? 2 : 0;
    }
    if (command === 'rules') {
      const [action, path, ...extra] = rest;
      if (action !== 'check' || !path || extra.length > 0 || path.startsWith('--')) {
        print('stderr', "slack-etl: error: usage is 'slack-etl rules check FILE'");
        return 2;
      }
      return await runRulesCheck(path, { stdout: (line) => print('stdout', line), stderr: (line) => print('stderr', line) });
    }
    if (!(command in commands)) {
      print('stderr', `slack-etl: error: unknown command '${command}' — run 'slack-etl --help' for the commands`);
      return 2;
    }
    const name = command as CommandName;
    config = parseCommandLine(name, rest, io.env);
    if (config.help) {
      print('stdout', commandHelp(name));
      return 0;
    }
    return await commands[name](config, io);
  } catch (error) {
    const secrets = config ? secretsOf(config) : [io.env.SLACK_TOKEN, io.env.ELASTICSEARCH_API_KEY, io.env.ELASTICSEARCH_PASSWORD];
    const line = escapeControlCharacters(redact(`slack-etl: error: ${describeError(error)}`, secrets));
    if (config?.logFormat === 'json') {
      print('stderr', redact(JSON.stringify({ level: 'error', message: describeError(error), code: (error as SlackEtlError).code, stack: (error as Error).stack }), secrets));
    } else {
      print('stderr', line);
    }
    return error instanceof SlackEtlError ? error.exitCode : 1;
  }
}
