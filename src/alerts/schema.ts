import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The alert document every capability shares: ECS (event.kind alert, rule.*, threat.*, event.severity,
 * event.risk_score) plus Nyx's workflow under nyx.alert.*. Stored in `nyx-alerts-<namespace>` with a
 * deterministic _id, so a retry or a second watcher never writes one twice; the same id is TheHive's sourceRef.
 */
export const ALERT_STATUSES = ['open', 'acknowledged', 'closed'] as const;
export const CLOSE_REASONS = ['true_positive', 'false_positive', 'benign'] as const;

export const alertSchema = z.object({
  '@timestamp': z.string(),
  event: z.object({
    kind: z.literal('alert'),
    severity: z.number().int().min(0).max(100),
    risk_score: z.number().min(0).max(100),
    category: z.array(z.string()).optional(),
    created: z.string().optional(),
  }).passthrough(),
  rule: z.object({ id: z.string(), name: z.string(), description: z.string().optional(), ruleset: z.string().optional() }).passthrough(),
  threat: z
    .object({
      framework: z.literal('MITRE ATT&CK').optional(),
      tactic: z.object({ id: z.array(z.string()).optional(), name: z.array(z.string()).optional() }).partial().optional(),
      technique: z.object({ id: z.array(z.string()).optional(), name: z.array(z.string()).optional() }).partial().optional(),
    })
    .passthrough()
    .optional(),
  host: z.object({ name: z.string().optional(), hostname: z.string().optional() }).passthrough().optional(),
  user: z.object({ name: z.string().optional() }).passthrough().optional(),
  source: z.object({ ip: z.string().optional() }).passthrough().optional(),
  destination: z.object({ ip: z.string().optional() }).passthrough().optional(),
  nyx: z.object({
    alert: z.object({
      status: z.enum(ALERT_STATUSES),
      status_reason: z.enum(CLOSE_REASONS).optional(),
      reason: z.string(),
      entity: z.string(),
      entity_type: z.enum(['host', 'user', 'ip', 'process', 'file', 'none']),
      bucket_start: z.string(),
      namespace: z.string(),
      evidence: z.object({ event_ids: z.array(z.string()), indices: z.array(z.string()), fields: z.record(z.string(), z.unknown()).optional() }),
      signals: z.record(z.string(), z.unknown()).optional(),
      count: z.number().int().positive().optional(),
    }).passthrough(),
  }).passthrough(),
}).passthrough();

export type AlertDocument = z.infer<typeof alertSchema>;

export function alertIndex(namespace: string): string {
  return `nyx-alerts-${namespace}`;
}

/**
 * Deterministic alert id: tenant + rule + entity + the start of the time bucket the alert falls in.
 * The tenant is part of it so two organisations never share an id (it is also TheHive's sourceRef).
 */
export function alertId(ruleId: string, entity: string, bucketStartIso: string, namespace: string): string {
  return createHash('sha256').update(`${namespace}\u0000${ruleId}\u0000${entity}\u0000${bucketStartIso}`).digest('hex').slice(0, 32);
}

/** The start of the bucket `at` falls in, for a window of `windowMs`. */
export function bucketStart(at: Date | string | number, windowMs: number): string {
  const t = new Date(at).getTime();
  return new Date(t - (t % windowMs)).toISOString();
}
