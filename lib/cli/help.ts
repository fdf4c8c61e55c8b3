// --help texts and the README's options table, all read from the option declarations.

import { defaultTextOf } from '../options.js';
import { optionSpecs, type CliOption, type CommandName } from './options.js';

const commandSummaries: Record<CommandName, string> = {
  export: 'slack-etl export [--out FILE|-] [options]            Slack → NDJSON (default stdout)',
  sync: 'slack-etl sync --index NAME [es options] [options]     Slack → Elasticsearch',
  demo: 'slack-etl demo [--out FILE|-]                         bundled sample workspace, served on loopback, → NDJSON',
  connector:
    'slack-etl connector --connector-id ID [es options]    self-managed Elastic connector service (Kibana configures and schedules it)',
  list: 'slack-etl list channels|users [options]               what the token can see (table on a terminal, NDJSON when piped)',
};

const label = (spec: CliOption) => `${spec.short ? `-${spec.short}, ` : ''}--${spec.flag}${spec.placeholder ? ` ${spec.placeholder}` : ''}`;
/** A boolean flag's default goes without saying in --help (it is off until given). */
const helpDefault = (spec: CliOption) => (spec.type === 'boolean' ? undefined : defaultTextOf(spec));

export function commandHelp(command: CommandName): string {
  const specs = optionSpecs.filter((spec) => spec.commands.includes(command));
  const width = Math.max(...specs.map((spec) => label(spec).length)) + 2;
  const lines = specs.map((spec) => {
    const defaultText = helpDefault(spec);
    const extras = [
      defaultText ? `default ${defaultText}` : '',
      spec.env ? `env ${spec.env}` : '',
      spec.connector ? `Elastic: ${spec.connector.key}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return `  ${label(spec).padEnd(width)}${spec.description}${extras ? ` (${extras})` : ''}`;
  });
  return [`usage: ${commandSummaries[command]}`, '', 'options:', ...lines, '', exitCodesHelp].join('\n');
}

const exitCodesHelp = 'exit codes: 0 success; 1 the run failed or was partial; 2 usage, configuration, token or rules error';

const rulesSummary = 'slack-etl rules check FILE                            validate a sync-rules file';

export const rulesHelp = [
  `usage: ${rulesSummary}`,
  '',
  'Reads FILE (a JSON array of Elastic basic sync rules, {"rules": […]}, or a connector\'s filtering object) and',
  'prints "valid: N rules" with the rules in evaluation order, or every problem in it.',
  '',
  'exit codes: 0 the file is valid; 2 it is missing, unreadable, not JSON, or has invalid rules',
].join('\n');

export const generalHelp = [
  'slack-etl — move a Slack workspace into Elasticsearch or NDJSON',
  '',
  'commands:',
  ...Object.values(commandSummaries).map((line) => `  ${line}`),
  `  ${rulesSummary}`,
  "  slack-etl help [COMMAND]                              this help, or a command's options",
  '',
  'options: -h, --help (on every command), -V, --version',
  "run 'slack-etl <command> --help' for a command's options",
  exitCodesHelp,
].join('\n');

const allCommandNames: readonly CommandName[] = ['export', 'sync', 'demo', 'connector', 'list'];
const cell = (text: string) => text.replaceAll('|', '\\|');

/** The README's options table (between its `options-table` markers), generated: `npm run readme-options` writes it. */
export function readmeOptionsTable(): string {
  const rows = optionSpecs.map((spec) => {
    const flag = `${spec.short ? `\`-${spec.short}\`, ` : ''}\`--${spec.flag}${spec.placeholder ? ` ${spec.placeholder}` : ''}\``;
    const commands = allCommandNames.every((command) => spec.commands.includes(command)) ? 'all' : spec.commands.join(', ');
    const defaultText = spec.type === 'boolean' && spec.flag.startsWith('no-') ? `${spec.flag.slice(3)} on` : defaultTextOf(spec);
    const defaults = [defaultText, spec.env ? `env \`${spec.env}\`` : undefined].filter(Boolean).join('; ');
    const details = spec.details ? `${/^[;,]/.test(spec.details) ? '' : ' '}${spec.details}` : '';
    const elastic = spec.connector ? ` (Elastic: \`${spec.connector.key}\`)` : '';
    return `| ${cell(flag)} | ${commands} | ${cell(defaults)} | ${cell(spec.description + details + elastic)} |`;
  });
  return ['| option | commands | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const tableStart = '<!-- options-table: generated from the option declarations by `npm run readme-options` -->';
const tableEnd = '<!-- /options-table -->';

/** README text with its options table replaced by the generated one. */
export function replaceOptionsTable(readme: string): string {
  const start = readme.indexOf(tableStart);
  const end = readme.indexOf(tableEnd);
  if (start < 0 || end < start) throw new Error(`README.md: the options table markers are missing (${tableStart} … ${tableEnd})`);
  return `${readme.slice(0, start)}${tableStart}\n${readmeOptionsTable()}\n${readme.slice(end)}`;
}
