// --format slack-export: Slack's layout (index files, DM and group DM members, Pacific day files, 0600) that reads back to the API's
// documents.

import t from 'tap';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import yauzl from 'yauzl';
import { slackArchiveSource } from '../lib/sources/archive/source.js';
import { slackSource } from '../lib/sources/slack/source.js';
import { enrich } from '../lib/transforms/enrich.js';
import { dedupe } from '../lib/transforms/dedupe.js';
import { keepingSlackObjects } from '../lib/slack-raw.js';
import { checkSlackExportTarget, slackExportSink } from '../lib/sinks/slack-export.js';
import { pipeline } from '../lib/pipeline.js';
import { exportArgs, runCli, scaledTierRates, startWorkspace, temporaryDirectory, testToken } from './helpers/slack.js';

type Doc = Record<string, any>;
const allTypes = ['--channel-types', 'public,private,im,mpim'];
const fingerprints = (documents: Doc[]): string[] => documents.map((document) => `${document._id} ${document.content_hash}`).sort();

/** The documents the CLI's standard stages make of a source (enrich, then dedupe sets content_hash). */
async function documentsOf(source: AsyncIterable<any> & { lookupUser(id: string): Promise<any> }): Promise<Doc[]> {
  const documents: Doc[] = [];
  for await (const document of dedupe()(enrich({ lookupUser: (id) => source.lookupUser(id) })(source))) documents.push(document);
  return documents;
}

async function zipEntries(path: string): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true }, (error, file) => (error ? reject(error) : resolve(file))),
  );
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          files.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  return files;
}

t.test(
  "--format slack-export writes Slack's layout (ZIP or folder, 0600, Pacific day files) and reads back to the same documents",
  async (t) => {
    const { workspace, slack, nowMs } = await startWorkspace(t, { messageCount: 300, userCount: 20 });
    const directory = await temporaryDirectory(t);
    const sourceOptions = {
      token: testToken,
      slackApiUrl: slack.url,
      tierRates: scaledTierRates,
      now: nowMs,
      fetchLastNDays: 0,
      channelTypes: ['public', 'private', 'im', 'mpim'] as const,
    };
    const zipPath = join(directory, 'out.zip');
    const folderPath = join(directory, 'out-folder');
    const run = await runCli(exportArgs(slack, ...allTypes, '--quiet', '--format', 'slack-export', '--out', zipPath), {
      env: { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) },
    });
    t.equal(run.code, 0, run.stderr);
    // The library composition the CLI uses: the source carries Slack's objects, enrich gets them back on its output.
    const source = slackSource({
      ...sourceOptions,
      channelTypes: [...sourceOptions.channelTypes],
      keepSlackObjects: true,
      channelBlocks: true,
    });
    const lookedUp: Doc[] = [];
    const lookupUser = async (id: string) => {
      const user = await source.lookupUser(id);
      if (user) lookedUp.push(user);
      return user;
    };
    const sink = slackExportSink({ path: folderPath, selfUserId: workspace.bot.userId, extraUsers: () => lookedUp });
    const stats = await pipeline(source, keepingSlackObjects(enrich({ lookupUser })), dedupe(), sink);
    t.ok((stats.sink.dayFiles as number) > 0, 'the library sink wrote day files');
    const apiDocuments = await documentsOf(slackSource({ ...sourceOptions, channelTypes: [...sourceOptions.channelTypes] }));
    for (const archive of [zipPath, folderPath]) {
      const read = await documentsOf(
        slackArchiveSource({ path: archive, workspaceUrl: workspace.team.url, channelTypes: [...sourceOptions.channelTypes] }),
      );
      t.strictSame(
        fingerprints(read),
        fingerprints(apiDocuments),
        `${archive.endsWith('.zip') ? 'ZIP' : 'folder'}: every document (users, channels, messages) has the API's id and hash`,
      );
    }

    t.equal((await stat(zipPath)).mode & 0o777, 0o600, 'the ZIP is 0600');
    const files = await zipEntries(zipPath);
    for (const name of ['users.json', 'channels.json', 'groups.json', 'dms.json', 'mpims.json'])
      t.ok(files.has(name), `${name} is at the top`);
    const dms = JSON.parse(files.get('dms.json')!.toString()) as Doc[];
    t.ok(
      dms.length > 0 && dms.every((dm) => Array.isArray(dm.members) && dm.members.includes(workspace.bot.userId)),
      'dms.json lists both members of each DM',
    );
    const mpims = JSON.parse(files.get('mpims.json')!.toString()) as Doc[];
    t.ok(
      mpims.every((mpim) => Array.isArray(mpim.members) && mpim.members.length >= 2),
      'mpims.json lists the members of each group DM',
    );
    const dmFolder = String(dms[0]!.id);
    t.ok(
      [...files.keys()].some((name) => name.startsWith(`${dmFolder}/`)),
      'a DM folder is named by its id',
    );

    let crossMidnight = 0;
    for (const [name, data] of files) {
      const match = /^([^/]+)\/(\d{4}-\d{2}-\d{2})\.json$/.exec(name);
      if (!match) continue;
      for (const message of JSON.parse(data.toString()) as Doc[]) {
        const utcDate = DateTime.fromSeconds(Number(message.ts.split('.')[0]), { zone: 'utc' });
        const pacificDate = utcDate.setZone('America/Los_Angeles').toISODate();
        if (pacificDate !== match[2]) t.fail(`${message.ts} is in ${name}, not in its Pacific day ${pacificDate}`);
        if (utcDate.toISODate() !== match[2]) crossMidnight++;
      }
    }
    t.ok(crossMidnight > 0, 'messages after midnight UTC but before midnight in Los Angeles are filed under the Pacific date');
    const sample = JSON.parse([...files].find(([name]) => /^general\//.test(name))![1].toString()) as Doc[];
    t.ok(
      sample.some((message) => message.user_profile?.name),
      'messages of people carry user_profile as in Slack exports',
    );

    const folderFiles = await readdir(folderPath);
    t.ok(folderFiles.includes('users.json') && folderFiles.includes('channels.json'), 'the folder has the same layout');
    t.equal((await stat(join(folderPath, 'users.json'))).mode & 0o777, 0o600, 'folder files are 0600');
    t.equal((await stat(folderPath)).mode & 0o777, 0o700, 'the folder is 0700');

    await t.rejects(
      checkSlackExportTarget(folderPath),
      { code: 'output_exists', message: /already exists/ },
      'an existing export folder is never written over',
    );
    await t.rejects(checkSlackExportTarget('-'), { code: 'usage' }, 'an export is files, not stdout');
  },
);
