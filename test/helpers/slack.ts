// Test helpers: a fake Slack with a generated workspace, the CLI as a real process, NDJSON readers.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { generateWorkspace, type GenerateOptions, type Workspace } from '../../fixtures/slack-api/generator.js';
import { startFakeSlack, type FakeSlackOptions, type FakeSlackServer } from '../../fixtures/slack-api/server.js';
import type { TierRates } from '../../lib/sources/slack/pacer.js';
import { binPath } from './paths.js';

export const testToken = 'xoxb-test-token';
/** The fake's tiers run this much faster than Slack's; clients pace with `scaledTierRates` to match. */
export const rateScale = 600;
export const scaledTierRates: TierRates = { tier1: rateScale, tier2: 20 * rateScale, tier3: 50 * rateScale, tier4: 100 * rateScale };
export const scaledTierRatesFlag = `${20 * rateScale},${50 * rateScale},${100 * rateScale}`;

/** Reading all history from a fake Slack at its scaled rates: the flags most CLI tests start from. */
const fromFakeSlack = (slack: { url: string }): string[] => [
  '--slack-api-url',
  slack.url,
  '--tier-rates',
  scaledTierRatesFlag,
  '--fetch-last-n-days',
  '0',
];

/** `slack-etl export` of all history from a fake Slack at its scaled rates, then the test's own flags. */
export const exportArgs = (slack: { url: string }, ...extra: string[]): string[] => ['export', ...fromFakeSlack(slack), ...extra];

/** `slack-etl sync` of all history from a fake Slack at its scaled rates into `index`, then the test's own flags. */
export const syncArgs = (slack: { url: string }, index: string, ...extra: string[]): string[] => [
  'sync',
  '--index',
  index,
  ...fromFakeSlack(slack),
  ...extra,
];

export interface TestContext {
  teardown(fn: () => unknown): void;
}

export async function startWorkspace(
  t: TestContext,
  generate: GenerateOptions = {},
  server: Partial<Omit<FakeSlackOptions, 'workspace'>> = {},
): Promise<{ workspace: Workspace; slack: FakeSlackServer; nowMs: number }> {
  return serveWorkspace(t, generateWorkspace({ size: 'small', seed: 7, ...generate }), server);
}

/** A fake Slack of its own for a workspace generated once and shared by several tests (none of which may change it). */
export async function serveWorkspace(
  t: TestContext,
  workspace: Workspace,
  server: Partial<Omit<FakeSlackOptions, 'workspace'>> = {},
): Promise<{ workspace: Workspace; slack: FakeSlackServer; nowMs: number }> {
  const slack = await startFakeSlack({ rateScale, ...server, workspace });
  t.teardown(() => slack.close());
  return { workspace, slack, nowMs: workspace.now * 1000 };
}

export async function temporaryDirectory(t: TestContext): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'slack-etl-test-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/**
 * The environment for a child process: this one's plus `extra`, without tap's variables. tap's NODE_OPTIONS would load its
 * process-info hook into every child (a third of a CPU-second each).
 */
export function childEnvironment(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...extra })) {
    if (value !== undefined && !key.startsWith('TAP') && !key.startsWith('_TAPJS') && !key.startsWith('NODE_OPTIONS')) env[key] = value;
  }
  return env;
}

/**
 * `spawn(...nodeCommand(args), options)` starts node with `args`. Under tap, a spawn hook puts tap's process-info loader
 * back into every child's NODE_OPTIONS, whatever its environment says (about a CPU-second per CLI run, for coverage that
 * is not collected): `env -u NODE_OPTIONS` then executes node without it, in the same process, as a user's shell would.
 */
export function nodeCommand(args: string[]): [string, string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, ...args]];
}

/** Run the built CLI (bin/slack-etl.js → dist) as a child process, as a user would. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const started = performance.now();
  const env = childEnvironment(options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(...nodeCommand([binPath, ...args]), { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

export function parseNdjson(text: string): Array<Record<string, any>> {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, any>);
}

export async function readNdjson(path: string): Promise<Array<Record<string, any>>> {
  const bytes = await readFile(path);
  return parseNdjson((path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
}

export const idsOf = (documents: Array<{ _id: string }>): string[] => documents.map((document) => document._id).sort();
