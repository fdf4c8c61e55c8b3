// The connector service's own options (which connectors, how often), declared once for the CLI, --help and the README.

import { declareOptions } from '../options.js';

export const connectorServiceOptions = declareOptions({
  connectorIds: {
    flag: 'connector-id',
    type: 'list',
    placeholder: 'ID',
    repeatable: true,
    description: 'Elastic connector to serve (its document id in .elastic-connectors); repeat for several workspaces',
    details: '(or comma-separate them)',
    default: [],
    defaultText: 'required',
  },
  pollIntervalSeconds: {
    flag: 'poll-interval',
    type: 'seconds',
    // Fractions are allowed (tests poll fast); Elastic's service polls every 30 s by default.
    maximum: 86_400,
    placeholder: 'SECONDS',
    description: 'how often to check in, read configuration, sync rules, schedules and pending jobs',
    details: '(fractions allowed)',
    default: 30,
  },
});
