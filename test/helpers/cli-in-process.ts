// Test helper: the CLI's main() run inside the test process, for tests where the process boundary is not what they prove.

import { Writable } from 'node:stream';
import { main } from '../../lib/cli/main.js';
import type { CliResult } from './slack.js';

/** A stream that keeps what is written to it as text. */
function textSink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

/**
 * Runs `slack-etl ARGS` through main() with its own stdout, stderr and environment (nothing from the test process's
 * environment leaks in), and resolves like runCli with the exit code main() returned. No signal, no cwd: a test that
 * needs those, or exit codes as a shell sees them, file modes, locks between processes, spawns the CLI with runCli.
 */
export async function runCliInProcess(args: string[], options: { env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const started = performance.now();
  const stdout = textSink();
  const stderr = textSink();
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, env, stderrIsTTY: false, stdoutIsTTY: false });
  return { code, signal: null, stdout: stdout.text(), stderr: stderr.text(), elapsedMs: performance.now() - started };
}
