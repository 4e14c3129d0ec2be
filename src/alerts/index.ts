export { alertSchema, alertId, alertIndex, bucketStart, ALERT_STATUSES, CLOSE_REASONS, type AlertDocument } from './schema.ts';
