// Test helper: the CLI in this process through main(argv, io), for runs where the process boundary is not what is tested.

import { Writable } from 'node:stream';
import { main } from '../../lib/cli/main.js';
import type { CliResult } from './slack.js';

export interface InProcessOptions {
  /** Added to (undefined: removed from) this process's environment, as runCli does for a child. */
  env?: Record<string, string | undefined>;
  /** The working directory for relative paths: the process's own is changed for the run (runs take turns for it). */
  cwd?: string;
}

// One run at a time: `cwd` changes the process's working directory, which every run in this process shares.
let previous: Promise<unknown> = Promise.resolve();

/** Run `slack-etl <args>` as main(argv, io) with captured stdout/stderr; the result has runCli's shape (never a signal). */
export function runCliInProcess(args: string[], options: InProcessOptions = {}): Promise<CliResult> {
  const run = previous.then(() => runNow(args, options));
  previous = run.catch(() => undefined);
  return run;
}

async function runNow(args: string[], options: InProcessOptions): Promise<CliResult> {
  const started = performance.now();
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...options.env })) {
    if (value !== undefined && !key.startsWith('TAP') && !key.startsWith('NODE_OPTIONS')) env[key] = value;
  }
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  // Bytes kept as written and decoded once: a chunk may end inside a multi-byte character.
  const capture = (name: keyof typeof chunks) =>
    new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        chunks[name].push(chunk);
        done();
      },
    });
  const text = (name: keyof typeof chunks) => Buffer.concat(chunks[name]).toString('utf8');
  const stderr = capture('stderr');
  // What would reach a child's stderr around main's io (a library's console.warn, a Node warning) is the run's stderr too.
  // stdout stays tap's: it reports through it.
  const processStderrWrite = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    stderr.write(chunk, ...(rest as []))) as typeof process.stderr.write;
  const directory = process.cwd();
  if (options.cwd) process.chdir(options.cwd);
  try {
    const code = await main([...args], { stdout: capture('stdout'), stderr, env, stderrIsTTY: false, stdoutIsTTY: false });
    return { code, signal: null, stdout: text('stdout'), stderr: text('stderr'), elapsedMs: performance.now() - started };
  } finally {
    if (options.cwd) process.chdir(directory);
    process.stderr.write = processStderrWrite;
  }
}
