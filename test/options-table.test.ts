// README's options table, --help, the CLI's parsed defaults and the connector's defaults agree: one declaration each.

import { readFile } from 'node:fs/promises';
import t from 'tap';
import { commandHelp, readmeOptionsTable } from '../lib/cli/help.js';
import { optionSpecs, type CliConfig, type CommandName } from '../lib/cli/options.js';
import { parseCommandLine } from '../lib/cli/parse-options.js';
import { readSettings } from '../lib/connector/configuration.js';
import { repositoryPath } from './helpers/paths.js';

interface ReadmeRow {
  flags: string[];
  commands: CommandName[];
  defaultText: string;
  meaning: string;
}

const allCommands: CommandName[] = ['export', 'sync', 'demo', 'connector', 'list'];

/** The rows of README's options table, cells split on unescaped pipes. */
async function readmeRows(): Promise<{ table: string; rows: ReadmeRow[] }> {
  const readme = await readFile(repositoryPath('README.md'), 'utf8');
  const start = readme.indexOf('| option | commands | default | meaning |');
  const end = readme.indexOf('<!-- /options-table -->');
  const table = readme.slice(start, end).trim();
  const rows = table
    .split('\n')
    .slice(2)
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim().replaceAll('\\|', '|'));
      const [option, commands, defaultText, meaning] = cells as [string, string, string, string];
      return {
        flags: [...option.matchAll(/`(--?[a-z-]+)/g)].map((match) => match[1]!),
        commands: commands === 'all' ? allCommands : (commands.split(', ') as CommandName[]),
        defaultText: defaultText.replace(/;?\s*env `[A-Z_]+`/, '').trim(),
        meaning,
      };
    });
  return { table, rows };
}

/** A parsed value as the README writes defaults. */
function asReadmeText(value: unknown, flag: string): string {
  if (typeof value === 'boolean') return flag.startsWith('--no-') ? (value ? `${flag.slice(5)} on` : 'off') : value ? 'on' : 'off';
  if (Array.isArray(value)) return value.join(',');
  if (value !== null && typeof value === 'object' && 'tier2' in value) {
    const rates = value as CliConfig['tierRates'];
    return `${rates.tier2},${rates.tier3},${rates.tier4}`;
  }
  return String(value);
}

t.test('README options table is the one the declarations generate (run `npm run readme-options` after changing one)', async (t) => {
  const { table } = await readmeRows();
  t.equal(table, readmeOptionsTable());
});

t.test('every README row is a flag of each command it names, and --help shows the same default', async (t) => {
  const { rows } = await readmeRows();
  t.equal(rows.length, optionSpecs.length, 'one row per option');
  for (const row of rows) {
    const flag = row.flags.at(-1)!;
    for (const command of row.commands) {
      const help = commandHelp(command);
      const line = help.split('\n').find((candidate) => new RegExp(`^  (-\\w, )?${flag}( |$)`).test(candidate));
      t.ok(line, `${command} --help lists ${flag}`);
      if (line && !/^(off|.* on)$/.test(row.defaultText) && row.defaultText !== '')
        t.ok(line.includes(`default ${row.defaultText}`), `${command} --help: ${flag} default ${row.defaultText}`);
    }
  }
});

t.test("README defaults are what the CLI's parser gives when the flag is absent", async (t) => {
  const { rows } = await readmeRows();
  let checked = 0;
  for (const row of rows) {
    const flag = row.flags.at(-1)!;
    const spec = optionSpecs.find((candidate) => `--${candidate.flag}` === flag)!;
    // Defaults in words ("the system CAs", "export: -, demo: …", "required") are checked by the first two tests only.
    const value = row.defaultText.replace(/^(\d+); \d+ with --from-archive$/, '$1').replace(/^([\w-]+) on$/, '$1');
    if (value === '' || /\s|^\w+: /.test(value) || ['required', 'all', 'now'].includes(value)) continue;
    const config = parseCommandLine(row.commands[0]!, [], {}) as unknown as Record<string, unknown>;
    const expected = row.defaultText.split(';')[0]!;
    t.equal(asReadmeText(config[spec.name], flag), expected, `${flag}: README says ${row.defaultText}`);
    checked++;
  }
  t.ok(checked >= 15, `${checked} defaults compared`);
  // The one default that depends on another flag.
  const archive = parseCommandLine('export', ['--from-archive', 'x.zip'], {});
  t.match(rows.find((row) => row.flags.includes('--fetch-last-n-days'))!.defaultText, `${archive.fetchLastNDays} with --from-archive`);
});

t.test("the connector's defaults for the settings it shares with the CLI are the CLI's", async (t) => {
  const result = readSettings({ token: { value: 'xoxb-1' } });
  if (!result.ok) throw new Error('a configuration with only a token must be valid');
  const cli = parseCommandLine('sync', [], {});
  for (const key of ['fetchLastNDays', 'autoJoinChannels', 'syncUsers', 'threads', 'channelTypes', 'channels', 'excludeChannels'] as const)
    t.same(result.settings[key], cli[key], key);
});
