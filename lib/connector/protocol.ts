// The connector protocol's documents as the service reads them, and the facts it derives from them (features, rules, schedules).

import type { Configuration } from './configuration.js';

export const syncJobsIndex = '.elastic-connectors-sync-jobs';
export const serviceType = 'slack';

export type ConnectorStatus = 'created' | 'needs_configuration' | 'configured' | 'connected' | 'error';
export type JobStatus = 'pending' | 'in_progress' | 'canceling' | 'canceled' | 'suspended' | 'completed' | 'error';
export type JobType = 'full' | 'incremental' | 'access_control';

export interface FilteringRules {
  rules?: unknown[];
  advanced_snippet?: { value?: unknown };
  validation?: { state?: string; errors?: Array<{ ids: string[]; messages: string[] }> };
}

/** A connector document (`GET _connector/<id>`), read loosely: Kibana, Elastic's service and older versions all write it. */
export interface ConnectorDocument {
  id: string;
  configuration?: Configuration | null;
  features?: Record<string, any> | null;
  filtering?: Array<{ domain?: string; active?: FilteringRules; draft?: FilteringRules }> | null;
  index_name?: string | null;
  service_type?: string | null;
  status?: ConnectorStatus;
  error?: string | null;
  scheduling?: Partial<Record<'full' | 'incremental' | 'access_control', { enabled?: boolean; interval?: string }>> | null;
  sync_cursor?: unknown;
  last_sync_status?: JobStatus | null;
  last_sync_scheduled_at?: string | null;
  last_incremental_sync_scheduled_at?: string | null;
  pipeline?: { name?: string } | null;
}

/** A sync job document (`GET _connector/_sync_job/<id>`); `connector` is the snapshot taken when the job was created. */
export interface SyncJobDocument {
  id: string;
  status: JobStatus;
  job_type: JobType;
  trigger_method?: string;
  created_at?: string;
  connector: {
    id: string;
    configuration?: Configuration | null;
    filtering?: FilteringRules | Array<{ domain?: string; active?: FilteringRules; rules?: unknown[] }> | null;
    index_name?: string | null;
    sync_cursor?: unknown;
  };
}

/** Features slack-etl's connector offers; written when the connector has none, as Elastic's service does. */
export const slackFeatures = {
  document_level_security: { enabled: false },
  incremental_sync: { enabled: true },
  sync_rules: { basic: { enabled: true }, advanced: { enabled: false } },
};

/** Basic sync rules apply only when the connector enables them (`sync_rules.basic`, or the older `filtering_rules`). */
export function basicSyncRulesEnabled(features: ConnectorDocument['features']): boolean {
  if (!features) return false;
  if (features.sync_rules?.basic?.enabled === true) return true;
  return features.filtering_rules === true;
}

export function incrementalSyncEnabled(features: ConnectorDocument['features']): boolean {
  return features?.incremental_sync?.enabled === true;
}

export function defaultDomainOf(connector: ConnectorDocument): { active?: FilteringRules; draft?: FilteringRules } | undefined {
  return connector.filtering?.find((filter) => (filter.domain ?? 'DEFAULT') === 'DEFAULT');
}

/** The rules of a job's filtering snapshot: Elasticsearch copies the active DEFAULT rules; older documents hold the whole list. */
export function jobRules(filtering: SyncJobDocument['connector']['filtering']): unknown[] {
  if (!filtering) return [];
  if (Array.isArray(filtering)) {
    const domain = filtering.find((filter) => (filter.domain ?? 'DEFAULT') === 'DEFAULT');
    return domain?.active?.rules ?? domain?.rules ?? [];
  }
  return filtering.rules ?? [];
}
