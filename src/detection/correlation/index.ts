/**
 * Sigma correlation rules (v2: event_count, value_count, temporal, temporal_ordered; Nyx
 * extensions value_sum and periodic): resolve references, evaluate in the stream (sliding windows
 * per group, bounded memory) or over Elasticsearch (aggregations + replay), and turn matches into alerts.
 */
export { compileCorrelations, conditionHolds, correlationIdOf, describeCondition, type CompiledCorrelation, type CorrelationInput, type CorrelationSet } from './model.ts';
export { CorrelationState, evaluateCorrelationInStream, DEFAULT_CORRELATION_LIMITS, type CorrelationEvent, type CorrelationLimits, type CorrelationMatch } from './engine.ts';
export { compileCorrelationQuery, evaluateCorrelationOverElastic, type CorrelationQuery, type CorrelationRange, type ElasticCorrelationOptions, type ElasticCorrelationResult } from './elastic.ts';
export { buildCorrelationAlert, type CorrelationAlertOptions } from './alerts.ts';
export { alertingCorrelationIds, correlationOnlyRuleIds, loadCorrelationRules, type LoadedCorrelations } from './load.ts';
export { expandSequence, runCorrelationSelfTests, runSequence, type CorrelationSelfTestFailure, type CorrelationTestSequence } from './selftest.ts';
export { periodicity } from './periodicity.ts';
