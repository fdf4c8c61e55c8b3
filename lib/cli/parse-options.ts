// Command-line parsing from the option declarations: each flag's value by its declared type, the defaults the declarations give.

import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { parseTierRates } from '../sources/slack/pacer.js';
import { archiveSourceOptions } from '../sources/archive/options.js';
import { slackSourceOptions } from '../sources/slack/options.js';
import { optionSpecs, type CliConfig, type CliOption, type CommandName } from './options.js';

const usageError = (message: string, command: string) => new ConfigError('usage', message, { hint: `see 'slack-etl ${command} --help'` });

const oneOf = (choices: readonly string[]): string =>
  choices.length === 2 ? `${choices[0]} or ${choices[1]}` : `one of ${choices.join(', ')}`;

const parseList = (text: string): string[] =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

/** Options whose text needs more than their type says. */
const specialParsers: Partial<Record<keyof CliConfig, (text: string) => unknown>> = {
  tierRates: parseTierRates,
  // Channel lists take names as Slack shows them (`#general`) as well as bare names and ids.
  channels: (text) => parseList(text).map((item) => item.replace(/^#/, '')),
  excludeChannels: (text) => parseList(text).map((item) => item.replace(/^#/, '')),
};

/** The value of one flag's text, by its declared type; throws a usage error naming the flag. */
function parseValue(spec: CliOption, text: string, command: string): unknown {
  const flag = `--${spec.flag}`;
  const special = specialParsers[spec.name];
  if (special) {
    try {
      return special(text);
    } catch (error) {
      throw usageError(`${flag}: ${(error as Error).message}`, command);
    }
  }
  switch (spec.type) {
    case 'count': {
      if (!/^\d+$/.test(text.trim())) throw usageError(`${flag} must be a whole number, got '${text}'`, command);
      const value = Number(text);
      const minimum = spec.minimum ?? 0;
      if (value < minimum) throw usageError(`${flag} must be at least ${minimum}, got ${value}`, command);
      return value;
    }
    case 'seconds': {
      const value = Number(text);
      const maximum = spec.maximum ?? Infinity;
      if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(value > 0) || value > maximum)
        throw usageError(`${flag} must be a number of seconds between 0 and ${maximum}, got '${text}'`, command);
      return value;
    }
    case 'list': {
      const items = [...new Set(parseList(text))];
      const unknown = spec.choices ? items.find((item) => !spec.choices!.includes(item)) : undefined;
      if (unknown !== undefined) throw usageError(`${flag}: unknown type '${unknown}' (use ${spec.choices!.join(', ')})`, command);
      return items;
    }
    default:
      if (spec.choices && !spec.choices.includes(text)) throw usageError(`${flag} must be ${oneOf(spec.choices)}, got '${text}'`, command);
      return text;
  }
}

/** The default a flag's absence means: the declaration's, except where another flag picks the component (an archive). */
function defaultOf(spec: CliOption, given: Map<string, string>): unknown {
  if (spec.name === 'fetchLastNDays')
    return given.has('fromArchive') ? archiveSourceOptions.fetchLastNDays.default : slackSourceOptions.fetchLastNDays.default;
  return Array.isArray(spec.default) ? [...spec.default] : spec.default;
}

/** node's parseArgs, its errors turned into usage errors naming the flag at fault. */
function parseFlags(command: CommandName, argv: string[], specs: readonly CliOption[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        specs.map((spec) => [
          spec.flag,
          {
            type: spec.type === 'boolean' ? 'boolean' : 'string',
            ...(spec.repeatable ? { multiple: true } : {}),
            ...(spec.short ? { short: spec.short } : {}),
          },
        ]),
      ) as Record<string, { type: 'boolean' | 'string'; multiple?: boolean; short?: string }>,
    }).values as Record<string, string | string[] | boolean | undefined>;
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) throw usageError(`unknown option ${unknown[1]} for 'slack-etl ${command}'`, command);
    const missingValue = /Option '([^']+?)(?: <value>)?' argument missing/.exec(message);
    if (missingValue) throw usageError(`option ${missingValue[1]!.split(',').pop()!.trim()} needs a value`, command);
    // parseArgs will not take a value starting with '-' after a space (`--concurrency -1`): say what it saw.
    const ambiguous = /Option '([^']+)' argument is ambiguous/.exec(message);
    if (ambiguous) {
      const flag = ambiguous[1]!.split(',').pop()!.trim();
      const next = argv[argv.indexOf(flag) + 1] ?? '';
      throw new ConfigError('usage', `option ${flag} needs a value, but is followed by '${next}'`, {
        hint: `write ${flag}=${next} if that is the value; see 'slack-etl ${command} --help'`,
      });
    }
    const positional = /Unexpected argument '([^']+)'/.exec(message);
    if (positional) throw usageError(`unexpected argument '${positional[1]}' for 'slack-etl ${command}'`, command);
    throw usageError(message.split('\n')[0]!, command);
  }
}

/** Parse `argv` (after the command name) for `command`. Throws ConfigError (exit 2) naming the flag at fault. */
export function parseCommandLine(command: CommandName, argv: string[], env: NodeJS.ProcessEnv = process.env): CliConfig {
  const specs = optionSpecs.filter((spec) => spec.commands.includes(command));
  const values = parseFlags(command, argv, specs);
  // The text of every non-boolean option given, by flag or environment variable.
  const given = new Map<string, string>();
  for (const spec of specs) {
    if (spec.type === 'boolean') continue;
    const flagValue = values[spec.flag];
    const text = Array.isArray(flagValue) ? flagValue.join(',') : flagValue;
    if (typeof text === 'string') {
      if (text.trim() === '' && spec.name !== 'out') throw usageError(`--${spec.flag} needs a non-empty value`, command);
      given.set(spec.name, text);
    } else if (spec.env && env[spec.env]) given.set(spec.name, env[spec.env]!);
  }
  const config: Record<string, unknown> = { command };
  for (const spec of optionSpecs) {
    if (spec.name in config) continue;
    const text = given.get(spec.name);
    if (spec.type === 'boolean') {
      const set = specs.includes(spec) && values[spec.flag] === true;
      // A `no-` flag turns off what is on by default.
      config[spec.name] = set ? !spec.default : (spec.default ?? false);
    } else config[spec.name] = text === undefined ? defaultOf(spec, given) : parseValue(spec, text, command);
  }
  checkCombinations(command, given);
  return config as unknown as CliConfig;
}

/** Options that cannot go together, or only together. */
function checkCombinations(command: CommandName, given: Map<string, string>): void {
  const window = given.has('since') ? 'since' : given.has('until') ? 'until' : undefined;
  if (given.has('fetchLastNDays') && window) {
    throw usageError(
      `--fetch-last-n-days cannot be combined with --${window}: drop --fetch-last-n-days (--since 30d reads the last 30 days)`,
      command,
    );
  }
  const format = given.get('format') ?? 'ndjson';
  if (given.has('fromArchive') && window)
    throw usageError(`--${window} is not supported with --from-archive yet: use --fetch-last-n-days`, command);
  const workspaceUrl = given.get('workspaceUrl');
  if (workspaceUrl !== undefined && !given.has('fromArchive'))
    throw usageError('--workspace-url only applies with --from-archive (the API names the workspace itself)', command);
  if (workspaceUrl !== undefined && !/^https?:\/\/[^/]+/.test(workspaceUrl))
    throw usageError(`--workspace-url must be a URL like https://acme.slack.com/, got '${workspaceUrl}'`, command);
  if (command === 'export' && given.has('index') && format !== 'es-bulk')
    throw usageError('--index applies to export only with --format es-bulk', command);
  if (format === 'slack-export' && given.has('state')) {
    throw new ConfigError('usage', '--format slack-export cannot be combined with --state', {
      hint: 'an export archive is a whole snapshot: drop --state (or use --format ndjson, es-bulk or singer for incremental runs)',
    });
  }
}
