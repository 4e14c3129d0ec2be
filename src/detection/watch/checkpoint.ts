import { z } from 'zod';

/** A rule's durable watch state (StateStore), validated on read: a replica that takes over continues from it. */
export const ruleCheckpointSchema = z.object({
  rule_id: z.string(),
  /** Events with @timestamp before this were searched. */
  checkpoint: z.iso.datetime(),
  last_run_at: z.iso.datetime(),
  last_run_ms: z.number().min(0),
  last_hits: z.number().int().min(0),
  last_alerts: z.number().int().min(0),
  last_duplicates: z.number().int().min(0),
  /** Alerts not written in the last run because of watch.max_alerts_per_run. */
  last_capped: z.number().int().min(0),
  holder: z.string(),
  /** The last downtime found: when, which span, and whether the catch-up finished. */
  gap: z
    .object({ detected_at: z.iso.datetime(), from: z.iso.datetime(), to: z.iso.datetime(), seconds: z.number(), caught_up: z.boolean(), skipped_seconds: z.number().min(0) })
    .optional(),
  last_error: z.string().optional(),
  /** Correlation runs: what the evaluator reported (truncation, no candidate aggregation). */
  notes: z.array(z.string()).optional(),
});
export type RuleCheckpoint = z.infer<typeof ruleCheckpointSchema>;

export const checkpointKey = (group: string, ruleId: string): string => `watch:${group}:rule:${ruleId}`;
/** Correlations have checkpoints of their own (a correlation id never collides with a rule's key). */
export const correlationCheckpointKey = (group: string, correlationId: string): string => `watch:${group}:correlation:${correlationId}`;
export const shardLeaseName = (group: string, shard: number): string => `watch:${group}:shard:${shard}`;
export const memberLeaseName = (group: string, holder: string): string => `watch:${group}:member:${holder}`;
