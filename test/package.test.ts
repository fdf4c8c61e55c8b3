// The published package: only the library, the CLI and the bundled sample workspace, and `demo` runs from it alone.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { repositoryRoot } from './helpers/paths.js';
import { promisify } from 'node:util';
import { temporaryDirectory } from './helpers/slack.js';

const run = promisify(execFile);
const root = repositoryRoot;

/** `npm pack` without its `prepare` build (`npm test` has just built dist/) into `destination`: the tarball and its files. */
async function pack(destination: string): Promise<{ filename: string; files: string[] }> {
  const args = ['pack', '--json', '--ignore-scripts', '--pack-destination', destination];
  const { stdout } = await run('npm', args, { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  const [result] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { filename: result!.filename, files: result!.files.map((file) => file.path) };
}

// One `npm pack` for both tests (npm's start-up is most of its cost), in a directory removed when the file ends.
let packed: Promise<{ directory: string; filename: string; files: string[] }> | undefined;
const packOnce = () => (packed ??= temporaryDirectory(t).then(async (directory) => ({ directory, ...(await pack(directory)) })));

t.test('npm pack ships the library, the CLI and the sample workspace: no tests, benchmarks, other fixtures or source maps', async (t) => {
  const { files } = await packOnce();
  t.ok(files.includes('bin/slack-etl.js'), 'the CLI entry point');
  t.ok(files.includes('dist/lib/index.js') && files.includes('dist/lib/index.d.ts'), 'the library and its types');
  t.ok(
    files.includes('dist/fixtures/slack-api/server.js') && files.includes('dist/fixtures/slack-api/main.js'),
    'the sample workspace the demo serves',
  );
  t.same(
    files.filter(
      (path) => /(^|\/)(test|bench)\//.test(path) || path.startsWith('dist/fixtures/elasticsearch') || path.startsWith('fixtures/'),
    ),
    [],
    'no test, bench or other fixture file',
  );
  t.same(
    files.filter((path) => path.endsWith('.map') || (path.endsWith('.ts') && !path.endsWith('.d.ts'))),
    [],
    'no source maps or TypeScript sources',
  );
});

t.test('slack-etl demo works from the packed tarball installed on its own', async (t) => {
  const { directory, filename } = await packOnce();
  const installed = join(directory, 'node_modules', 'slack-etl');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', join(directory, filename), '-C', installed, '--strip-components=1']);
  // The package's dependencies as npm would install them beside it (from this checkout, so the test needs no network).
  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const available = new Set(await readdir(join(root, 'node_modules')));
  for (const entry of available) {
    if (entry === '.bin' || entry === 'slack-etl') continue;
    await symlink(join(root, 'node_modules', entry), join(directory, 'node_modules', entry));
  }
  t.ok(
    Object.keys(manifest.dependencies).every((name) => available.has(name.split('/')[0]!)),
    'every dependency is there',
  );
  const out = join(directory, 'demo.ndjson');
  const { stderr } = await run(process.execPath, [join(installed, 'bin', 'slack-etl.js'), 'demo', '--out', out], { cwd: directory });
  const lines = (await readFile(out, 'utf8')).trim().split('\n');
  t.ok(lines.length > 100, `the demo exported ${lines.length} documents`);
  t.match(JSON.parse(lines.at(-1)!), { _id: String, type: String }, 'NDJSON documents');
  t.match(stderr, /demo: output written to/);
});
