import { z } from 'zod';

/** `alerts:` in nyx.yml — where rules and alert policy live, and the stream (fast) path. */
export const alertsConfigSchema = z
  .object({
    /** Folder with mappings/, mitre/, scoring.yml, overrides.yml (default: the repository's rules/). */
    rules_root: z.string().min(1).optional(),
    /** Sigma rule files/folders the stream path and the watcher run (default: <rules_root>/sigma). */
    sigma_paths: z.array(z.string().min(1)).min(1).optional(),
    stream: z
      .object({
        /** Run every rule on every event `nyx serve` stores (the fast path). */
        enabled: z.boolean().default(true),
        /** Make stream alerts searchable before the ingest request returns (lowest alert latency). */
        refresh: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});
export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
