// The README's library example is compiled: test/types/readme-example.ts (type-checked under strict by `npm run typecheck`) is that block,
// verbatim.

import t from 'tap';
import { readFile } from 'node:fs/promises';
import { repositoryPath } from './helpers/paths.js';

t.test('test/types/readme-example.ts is the README library example, character for character', async (t) => {
  const readme = await readFile(repositoryPath('README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use as a library'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  t.ok(block, 'README has a ```ts block under "## Use as a library"');
  const compiled = await readFile(repositoryPath('test/types/readme-example.ts'), 'utf8');
  // The compiled copy only adds its one-line header comment.
  t.equal(compiled.slice(compiled.indexOf('\n') + 1), block, 'edit both together: the README example must be the one that compiles');
  t.match(block!, /filter\(/, 'the example puts an ix operator between stages');
});

t.test('the typecheck covers the example and the typing proofs (strict, slack-etl resolving to lib/)', async (t) => {
  const tsconfig = JSON.parse(await readFile(repositoryPath('tsconfig.json'), 'utf8')) as {
    compilerOptions: { strict: boolean; paths: Record<string, string[]> };
    include: string[];
  };
  t.equal(tsconfig.compilerOptions.strict, true);
  t.strictSame(tsconfig.compilerOptions.paths['slack-etl'], ['./lib/index.ts']);
  t.ok(tsconfig.include.includes('test/**/*.ts'), 'test/types/*.ts are part of `npm run typecheck`');
  const proofs = await readFile(repositoryPath('test/types/pipeline-types.ts'), 'utf8');
  t.ok(
    (proofs.match(/@ts-expect-error/g) ?? []).length >= 3,
    'mismatched stages are compile errors (unused @ts-expect-error fails the typecheck)',
  );
});
