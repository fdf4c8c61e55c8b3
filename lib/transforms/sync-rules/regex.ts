// Rule regexes: Python's `re` syntax evaluated by RE2 in linear time, and the patterns that would hang a backtracking engine.

import { RE2JS } from 're2js';
import safeRegex from 'safe-regex2';

/**
 * Python's `re` syntax → RE2's, which evaluates in linear time whatever the pattern. RE2 already reads Python's named
 * groups `(?P<name>…)`, `\A` and inline flags; Python's `\Z` (end of text) is RE2's `\z`. `re.match` anchors at the
 * start only: `\A(?:…)` does the same, also under `(?m)`. Backreferences and lookarounds have no linear-time
 * evaluation: RE2 rejects them, and so does validation.
 */
export function compilePythonRegex(pattern: string): RE2JS {
  let source = pattern;
  let flags = '';
  const leadingFlags = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (leadingFlags) {
    for (const flag of leadingFlags[1]!) {
      if (flag === 'x') throw new SyntaxError('the verbose flag (?x) is not supported; remove the whitespace and comments');
      if ((flag === 'i' || flag === 'm' || flag === 's') && !flags.includes(flag)) flags += flag;
    }
    source = source.slice(leadingFlags[0].length);
  }
  let translated = '';
  for (let index = 0; index < source.length; index++) {
    const character = source[index]!;
    if (character === '\\' && index + 1 < source.length) {
      const escaped = source[index + 1]!;
      translated += escaped === 'Z' ? '\\z' : character + escaped;
      index++;
    } else translated += character;
  }
  try {
    return RE2JS.compile(`${flags ? `(?${flags})` : ''}\\A(?:${translated})`);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
    const unsupported = /\(\?P=|\(\?<?[=!]|\\[1-9]/.test(translated)
      ? ' (backreferences and lookarounds are not supported: rules run on a linear-time engine, RE2)'
      : '';
    throw new SyntaxError(`${reason}${unsupported}`);
  }
}

/** Patterns whose nested repetition makes a backtracking engine (Python's `re`, JavaScript's RegExp) take exponential time. */
export function backtracksCatastrophically(pattern: string): boolean {
  const asJavaScript = pattern
    .replace(/^\(\?[aiLmsux]+\)/, '')
    .replaceAll('(?P<', '(?<')
    .replaceAll(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return !safeRegex(asJavaScript);
  } catch {
    return false;
  }
}
