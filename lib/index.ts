// Public API of slack-etl: re-exports only.

export * from './documents.js';
export {
  defineStage,
  defineSink,
  type Stage,
  type NamedStage,
  type CoreDocument,
  type PassThroughStage,
  type Sink,
  type SinkContext,
  type Source,
  type SourceReport,
  type ComponentStats,
} from './stage.js';
export { pipeline, type PipelineOptions, type RunStats } from './pipeline.js';
export { stepStage, type DocumentStep } from './document-step.js';
export { SlackEtlError, ConfigError, RunError, describeError, type ErrorCode, type ExitCode } from './errors.js';
export { createLogger, silentLogger, redact, type Logger, type LogFormat, type LogLevel } from './log.js';
export {
  slackSource,
  channelTypes,
  type ChannelType,
  type SlackSource,
  type SlackSourceOptions,
  type SlackSourceStats,
} from './sources/slack/source.js';
export {
  SlackApiClient,
  SlackApiError,
  SlackUnavailableError,
  type SlackClientOptions,
  type SlackClientStats,
} from './sources/slack/client.js';
export { defaultTierRates, methodTiers, parseTierRates, type TierRates } from './sources/slack/pacer.js';
export { enrich, displayName, rewriteSlackText, type EnrichOptions, type UserLookupResult } from './transforms/enrich.js';
export {
  syncRules,
  rulesKeep,
  loadRules,
  validateRules,
  parseRulesText,
  ruleMatches,
  type SyncRule,
  type RuleOperator,
  type RulesValidation,
  type RuleProblem,
} from './transforms/sync-rules.js';
export { teeSink, TeeBranchFailed, type TeeSinkStats } from './sinks/tee.js';
export { dedupe, type DedupeOptions, type SeenStore } from './transforms/dedupe.js';
export { contentHash } from './content-hash.js';
export { StateStore, createStateStore, type ThreadState } from './state/store.js';
export {
  ndjsonSink,
  checkNdjsonTarget,
  type NdjsonSinkOptions,
  type NdjsonSinkStats,
  type NdjsonResumeOptions,
  type NdjsonCheckpoint,
} from './sinks/ndjson.js';
export {
  elasticsearchSink,
  createElasticsearchClient,
  checkElasticsearch,
  indexMappings,
  type ElasticsearchSinkOptions,
  type ElasticsearchConnectionOptions,
  type ElasticsearchSinkStats,
} from './sinks/elasticsearch.js';
