// How document values and rule values are read and compared: Python's float and bool coercions, exact decimal order, dates.

export const numericText = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const decimalText = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Exact comparison of two decimal strings (no exponent), so microsecond `ts` values never round. */
function compareDecimalText(left: string, right: string): number {
  const [, signA = '', integerA = '', fractionA = ''] = decimalText.exec(left)!;
  const [, signB = '', integerB = '', fractionB = ''] = decimalText.exec(right)!;
  const magnitudeA = [integerA.replace(/^0+/, ''), fractionA.replace(/0+$/, '')] as const;
  const magnitudeB = [integerB.replace(/^0+/, ''), fractionB.replace(/0+$/, '')] as const;
  const zeroA = magnitudeA[0] === '' && magnitudeA[1] === '';
  const zeroB = magnitudeB[0] === '' && magnitudeB[1] === '';
  const negativeA = signA === '-' && !zeroA;
  const negativeB = signB === '-' && !zeroB;
  if (negativeA !== negativeB) return negativeA ? -1 : 1;
  let magnitude: number;
  if (magnitudeA[0].length !== magnitudeB[0].length) magnitude = magnitudeA[0].length - magnitudeB[0].length;
  else if (magnitudeA[0] !== magnitudeB[0]) magnitude = magnitudeA[0] < magnitudeB[0] ? -1 : 1;
  else magnitude = magnitudeA[1] === magnitudeB[1] ? 0 : magnitudeA[1] < magnitudeB[1] ? -1 : 1;
  return negativeA ? -magnitude : magnitude;
}

/**
 * Compares two numeric-looking strings. Rounding to a double is monotonic, so different doubles order
 * the strings correctly; only equal doubles (e.g. `ts` values a microsecond apart) need the exact decimal comparison.
 */
export function compareNumericText(left: string, right: string): number {
  const leftNumber = Number(left);
  const rightNumber = Number(right);
  if (leftNumber < rightNumber) return -1;
  if (leftNumber > rightNumber) return 1;
  return decimalText.test(left) && decimalText.test(right) ? compareDecimalText(left, right) : 0;
}

/** Python's `float(str)`: surrounding whitespace, `_` between digits, inf and nan allowed; undefined when it raises. */
export function pythonFloat(text: string): number | undefined {
  const trimmed = text.trim().replace(/(?<=\d)_(?=\d)/g, '');
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(trimmed);
  if (special) return special[2]!.toLowerCase() === 'nan' ? Number.NaN : special[1] === '-' ? -Infinity : Infinity;
  return numericText.test(trimmed) ? Number(trimmed) : undefined;
}

/** Elastic's `to_bool`, returning undefined where it would return the string unchanged. */
function toBoolean(text: string): boolean | undefined {
  if (text === '' || /^(?:false|f|no|n|off)$/i.test(text)) return false;
  if (/^(?:true|t|yes|y|on)$/i.test(text)) return true;
  return undefined;
}

const dateText = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Epoch milliseconds of an ISO-8601-like date; a date or time without zone is UTC. Undefined if not date-like. */
export function dateMilliseconds(text: string): number | undefined {
  const parts = dateText.exec(text);
  if (!parts) return undefined;
  const [, date, time, zone] = parts;
  let milliseconds: number;
  if (time === undefined) milliseconds = Date.parse(date!);
  else {
    let offset = 'Z';
    if (zone !== undefined && zone.toUpperCase() !== 'Z') {
      const digits = zone.replace(':', '');
      offset = `${digits.slice(0, 3)}:${digits.slice(3, 5) || '00'}`;
    }
    milliseconds = Date.parse(`${date}T${time}${offset}`);
  }
  return Number.isNaN(milliseconds) ? undefined : milliseconds;
}

/** Text used by contains / starts_with / ends_with / regex. */
export const textOf = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);

/** The rule value read every way an operator may need it. */
export interface Expected {
  text: string;
  /** Python's `float(value)`, as Elastic coerces it for number fields. */
  number: number | undefined;
  /** A decimal number as text, compared exactly with numeric-looking string fields (`ts`). */
  looksNumeric: boolean;
  boolean: boolean | undefined;
  date: number | undefined;
}

export const readExpected = (value: string): Expected => ({
  text: value,
  number: pythonFloat(value),
  looksNumeric: numericText.test(value),
  boolean: toBoolean(value),
  date: dateMilliseconds(value),
});

/** Sign of `actual - expected`, or 'incomparable'. */
export function order(actual: unknown, expected: Expected): number | 'incomparable' {
  if (typeof actual === 'string') {
    if (expected.looksNumeric && numericText.test(actual)) return compareNumericText(actual, expected.text);
    if (expected.date !== undefined) {
      const actualDate = dateMilliseconds(actual);
      if (actualDate !== undefined) return actualDate - expected.date;
    }
    return actual < expected.text ? -1 : actual > expected.text ? 1 : 0;
  }
  if (typeof actual === 'number') {
    if (expected.number === undefined) return 'incomparable';
    return actual < expected.number ? -1 : actual > expected.number ? 1 : actual === expected.number ? 0 : 'incomparable';
  }
  return 'incomparable';
}
