// Option declarations: each component declares its options once (name, type, default, description) for every reader of them.

/** How a value is written on the command line: `count` is a whole number, `seconds` a positive number, `list` comma-separated. */
export type OptionType = 'string' | 'boolean' | 'count' | 'seconds' | 'list';

/** How the same setting appears in an Elastic connector's configuration (Kibana renders it). */
export interface ConnectorField {
  /** The configuration key (`fetch_last_n_days`); Elastic's own keys where the setting is Elastic's. */
  key: string;
  label: string;
  order: number;
  display: 'textbox' | 'textarea' | 'numeric' | 'toggle' | 'dropdown';
  /** Kibana's tooltip, when it must differ from the description (Elastic's wording for Elastic's fields). */
  tooltip?: string;
  required?: boolean;
  sensitive?: boolean;
}

export interface OptionDeclaration {
  /** The library's option name (and the CLI configuration's key). */
  name: string;
  /** The CLI flag without dashes; a boolean that defaults to on is turned off by its `no-` flag. */
  flag: string;
  type: OptionType;
  /** One line, for --help and the README. */
  description: string;
  /** More for the README's table only (examples, edge cases). */
  details?: string;
  /** The value the component uses when the option is absent; absent when there is none. */
  default?: unknown;
  /** The default as people read it, when the plain value does not say it ("the system zone"). */
  defaultText?: string;
  placeholder?: string;
  /** Environment variable the CLI reads when the flag is absent. */
  env?: string;
  secret?: boolean;
  /** One-letter alias (`-h`). */
  short?: string;
  /** May be given more than once; the values add up (as do comma-separated ones). */
  repeatable?: boolean;
  /** Smallest value a `count` accepts. */
  minimum?: number;
  /** `seconds`: the largest value accepted. */
  maximum?: number;
  /** `string`: the values accepted. */
  choices?: readonly string[];
  connector?: ConnectorField;
}

type Declarations = Record<string, Omit<OptionDeclaration, 'name'>>;

/** Names each declaration after its key: `declareOptions({ concurrency: {...} }).concurrency.name === 'concurrency'`. */
export function declareOptions<const Table extends Declarations>(table: Table): { [Name in keyof Table]: Table[Name] & { name: Name } } {
  return Object.fromEntries(Object.entries(table).map(([name, declaration]) => [name, { ...declaration, name }])) as never;
}

/** The default of a declaration as --help and the README show it. */
export function defaultTextOf(declaration: OptionDeclaration): string | undefined {
  if (declaration.defaultText !== undefined) return declaration.defaultText;
  const value = declaration.default;
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
