/** The query detection path: `nyx watch` runs every rule as an Elasticsearch query on a schedule, HA through leases. */
export { RuleWatcher, shardOf, type RuleRunReport, type RuleWatcherOptions, type WatchedRule, type WatchSettings } from './watcher.ts';
export { watchStatus, type RuleWatchStatus } from './status.ts';
export { watchService } from './service.ts';
export { watchConfigSchema, type WatchConfig } from './config.ts';
export { ruleCheckpointSchema, checkpointKey, type RuleCheckpoint } from './checkpoint.ts';
