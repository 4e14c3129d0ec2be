/**
 * The indicator store: the one read/write surface for threat indicators. Feeds write through `upsert`;
 * enrichment, retro-hunt and vulnerability code read through `activeIndicators`, `get` and the types here.
 */
export { IndicatorStore, indicatorIndexNames, indicatorDocId, type UpsertResult, type ExpireResult, type ActiveIndicatorsOptions } from './store.ts';
export {
  INDICATOR_TYPES,
  HASH_ALGOS,
  TLP_LEVELS,
  confidenceText,
  indicatorKey,
  feedIndicatorSchema,
  type IndicatorType,
  type HashAlgo,
  type Tlp,
  type ConfidenceText,
  type FeedIndicator,
  type LatestIndicator,
  type FeedIndicatorDoc,
  type IndicatorValueFields,
} from './types.ts';
