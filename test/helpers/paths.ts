// Paths in the repository, the same whether a test runs from test/*.ts or compiled from dist/test/*.js.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepositoryRoot(): string {
  // dist/ has no package.json, so walking up from dist/test/helpers lands on the same root as test/helpers.
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error('test helpers: no package.json above ' + fileURLToPath(import.meta.url));
    directory = parent;
  }
  return directory;
}

export const repositoryRoot = findRepositoryRoot();

/** An absolute path from the repository root, e.g. repositoryPath('bin/slack-etl.js'). */
export function repositoryPath(relative: string): string {
  return join(repositoryRoot, relative);
}

/** The CLI entry point users run. */
export const binPath = repositoryPath('bin/slack-etl.js');
