/** The query detection path: `nyx watch` runs every rule as an Elasticsearch query on a schedule, HA through leases. */
export { RuleWatcher, scheduledCorrelations, shardOf, type RuleRunReport, type RuleWatcherOptions, type WatchedCorrelation, type WatchedRule, type WatchSettings } from './watcher.ts';
export { watchStatus, type RuleWatchStatus, type WatchStatusOptions } from './status.ts';
export { watchService } from './service.ts';
export { watchConfigSchema, type WatchConfig } from './config.ts';
export { ruleCheckpointSchema, checkpointKey, correlationCheckpointKey, type RuleCheckpoint } from './checkpoint.ts';
