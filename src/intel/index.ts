/**
 * Threat intelligence: feed definitions and runs, the indicator store, the CVE/advisory stores, the MISP
 * client. Other folders use this surface only.
 */
export { IndicatorStore, indicatorIndexNames, type LatestIndicator, type FeedIndicator, type IndicatorType } from './store/index.ts';
export { CveStore, AdvisoryStore, CVE_INDEX, ADVISORY_INDEX, parseCpe, type CveRecord, type CpeMatch, type KevEntry, type CvssScore, type Advisory } from './cves/index.ts';
export { MispClient, type MispSighting, type MispAlertEvent, type MispClientOptions } from './misp/client.ts';
export { mispClientFromConfig } from './misp/from-config.ts';
export { MispSightingPusher, mispSightingsFromConfig, type SightingStats, type SightingOffer, type SightingSink } from './misp/sightings.ts';
export { loadFeedDefinitions, feedDefinitionSchema, FEED_KINDS, type FeedDefinition, type FeedKind } from './feeds/definitions.ts';
export { syncFeed, syncFeeds, readFeedState, describeRun, feedStateSchema, type FeedRunResult, type FeedRuntime, type FeedState, type FeedCounts } from './feeds/runner.ts';
export { FeedScheduler } from './feeds/scheduler.ts';
export { feedsService, feedRuntime, startFeedSchedule } from './feeds/service.ts';
export { FeedError, FeedHttp, type FeedFailure } from './feeds/http.ts';
export { loadWarningLists, WarningLists, normalizeIndicator, type RawIndicator } from './normalize/index.ts';
export { importIndicators, type ImportFormat, type ImportResult } from './import.ts';
