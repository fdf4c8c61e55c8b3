// Test helper: the CLI's main() run inside the test process, for tests where the process boundary is not what they prove.

import { Writable } from 'node:stream';
import { main } from '../../lib/cli/main.js';
import type { CliResult } from './slack.js';

/** A stream that keeps what is written to it, decoded once at the end (a chunk may end inside a multi-byte character). */
function textSink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

// What would reach a child's stderr around main's io (a library's console.warn, a Node warning) belongs to the runs in
// flight: while any runs, process.stderr writes go to each of their stderr. stdout stays the test's: tap reports on it.
const runningStderrs = new Set<Writable>();
const processStderrWrite = process.stderr.write;

function captureProcessStderr(stderr: Writable): () => void {
  if (runningStderrs.size === 0)
    process.stderr.write = ((chunk: string | Uint8Array) => {
      for (const stream of runningStderrs) stream.write(chunk);
      return true;
    }) as typeof process.stderr.write;
  runningStderrs.add(stderr);
  return () => {
    runningStderrs.delete(stderr);
    if (runningStderrs.size === 0) process.stderr.write = processStderrWrite;
  };
}

// A run with `cwd` changes the working directory of the whole process: it waits for the runs in flight, and runs
// started after it wait for it.
let directoryChange: Promise<unknown> = Promise.resolve();
const inFlight = new Set<Promise<unknown>>();

/**
 * Runs `slack-etl ARGS` through main() with its own stdout, stderr and environment (nothing from the test process's
 * environment leaks in), and resolves like runCli with the exit code main() returned, never a signal. `cwd` is the
 * directory relative paths resolve from. A test that needs signals, exit codes as a shell sees them, file modes seen
 * from another process, locks between processes or a real pipe spawns the CLI with runCli.
 */
export function runCliInProcess(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<CliResult> {
  let run: Promise<CliResult>;
  if (options.cwd) {
    const before = [...inFlight];
    run = directoryChange.then(() => Promise.allSettled(before)).then(() => runMain(args, options));
    directoryChange = run.catch(() => undefined);
  } else {
    run = directoryChange.then(() => runMain(args, options));
  }
  inFlight.add(run);
  const settled = () => void inFlight.delete(run);
  run.then(settled, settled);
  return run;
}

async function runMain(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string }): Promise<CliResult> {
  const started = performance.now();
  const stdout = textSink();
  const stderr = textSink();
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  const directory = process.cwd();
  if (options.cwd) process.chdir(options.cwd);
  const release = captureProcessStderr(stderr.stream);
  try {
    const code = await main([...args], { stdout: stdout.stream, stderr: stderr.stream, env, stderrIsTTY: false, stdoutIsTTY: false });
    return { code, signal: null, stdout: stdout.text(), stderr: stderr.text(), elapsedMs: performance.now() - started };
  } finally {
    release();
    if (options.cwd) process.chdir(directory);
  }
}
