/** Alerts: the shared document, building one from a detection, writing exactly once, and the analyst workflow. */
export { alertSchema, alertId, alertIndex, bucketStart, ALERT_STATUSES, CLOSE_REASONS, type AlertDocument } from './schema.ts';
export { writeAlerts, type AlertWriteResult, type AlertWriteFailure, type WriteAlertsOptions } from './writer.ts';
export { buildAlert, buildAlertFromMatch, alertEntity, idOfAlert, matchedFields, type AlertInput, type AlertRuleInfo, type EntityType, type MatchAlertOptions } from './build.ts';
export { loadAlertPolicy, rulePolicy, parseDuration, DEFAULT_RULES_ROOT, type AlertPolicy, type RuleOverride } from './policy.ts';
export { loadMitreTable, threatFromTags, type MitreTable, type ThreatFields } from './mitre.ts';
export { listAlerts, getAlert, transitionAlert, type StoredAlert, type ListAlertsQuery, type TransitionRequest, type AlertStatus, type CloseReason } from './workflow.ts';
