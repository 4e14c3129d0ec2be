import { z } from 'zod';

/** `watch:` in nyx.yml — the scheduled query path (`nyx watch`). */
export const watchConfigSchema = z
  .object({
    /** Replicas of one group share rules, leases and checkpoints (a second group runs the same rules independently). */
    group: z.string().regex(/^[a-z0-9_-]{1,64}$/, 'expected lowercase letters, digits, _ and -').default('default'),
    /** Only these namespaces (tenants); default every namespace a rule's data streams have. */
    namespaces: z.array(z.string().regex(/^[a-z0-9_]{1,100}$/)).min(1).optional(),
    /** How often each rule runs. */
    interval_seconds: z.number().int().positive().max(86_400).default(60),
    /** Each run re-reads this far before the checkpoint, for events that arrive late (ids make re-reads harmless). */
    overlap_seconds: z.number().int().min(0).max(86_400).default(60),
    /** After downtime, catch up at most this far back; older gaps are reported, not searched. */
    max_catchup_seconds: z.number().int().positive().default(7 * 86_400),
    /** A catch-up searches in slices of this size, checkpointing after each. */
    catchup_slice_seconds: z.number().int().positive().default(3_600),
    /** At most this many alerts per rule per run; the rest are counted and reported (visible cap). */
    max_alerts_per_run: z.number().int().positive().default(100),
    /** At most this many hits are read per rule per slice; the checkpoint then stops at the last hit read. */
    max_hits_per_run: z.number().int().positive().max(10_000).default(2_000),
    /** Rules are split into this many shards; each shard is one lease. */
    shards: z.number().int().positive().max(256).default(8),
    /** A replica that stops renewing loses its shards after this long. */
    lease_ttl_seconds: z.number().int().min(3).default(30),
  })
  .strict()
  .prefault({});
export type WatchConfig = z.infer<typeof watchConfigSchema>;
