// The archive source's options, declared once: slackArchiveSource's defaults, the CLI flags, --help and the README table.

import { declareOptions } from '../../options.js';
import { slackSourceOptions } from '../slack/options.js';

export const archiveSourceOptions = declareOptions({
  fromArchive: {
    flag: 'from-archive',
    type: 'string',
    placeholder: 'FILE.zip|DIR',
    description: 'read a Slack export archive (ZIP or unpacked folder) instead of the Slack API; no token needed',
  },
  workspaceUrl: {
    flag: 'workspace-url',
    type: 'string',
    placeholder: 'URL',
    description: 'with --from-archive: the workspace URL (https://acme.slack.com/) for permalinks and channel URLs, which an export lacks',
  },
  /** An archive is read whole unless a window is asked for. */
  fetchLastNDays: { ...slackSourceOptions.fetchLastNDays, default: 0 },
});
