import { z } from 'zod';

const DURATION = /^(\d+)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : NaN;
}

const duration = z.string().regex(DURATION, 'expected a duration such as 5m, 12h or 7d').refine((s) => durationMs(s) > 0, 'expected a positive duration');

/**
 * `risk:` in nyx.yml — entity risk (`nyx risk`), all of it data: how far back alerts count, how fast
 * they fade, which ATT&CK tactic (or ECS event.category) is which domain, and how much a burst of
 * several domains on one entity raises its risk.
 */
export const riskConfigSchema = z
  .object({
    /** Alerts whose activity is older than this do not count. */
    window: duration.default('24h'),
    /** An alert's risk halves every half_life (exponential decay by age). */
    half_life: duration.default('12h'),
    /** Several domains hitting one entity within this window raise its risk. */
    domain_window: duration.default('5m'),
    /** Distinct domains in one domain_window → multiplier (the largest key not above the count applies). */
    domain_multipliers: z.record(z.string().regex(/^\d+$/, 'expected a number of domains'), z.number().min(1).max(10)).default({ '2': 1.5, '3': 2, '4': 2.5 }),
    /** ATT&CK tactic id → domain. */
    tactic_domains: z.record(z.string().regex(/^TA\d{4}$/, 'expected a tactic id such as TA0002'), z.string().min(1)).default({
      TA0001: 'access',
      TA0002: 'process',
      TA0003: 'persistence',
      TA0004: 'privilege',
      TA0005: 'evasion',
      TA0006: 'credential',
      TA0007: 'discovery',
      TA0008: 'lateral',
      TA0009: 'collection',
      TA0010: 'network',
      TA0011: 'network',
      TA0040: 'impact',
    }),
    /** For alerts without tactics: ECS event.category → domain. */
    category_domains: z.record(z.string(), z.string().min(1)).default({ process: 'process', network: 'network', authentication: 'credential', registry: 'persistence', file: 'file', iam: 'privilege' }),
    /** Alerts read at most per run (newest first). */
    max_alerts: z.number().int().positive().max(100_000).default(10_000),
    /** Closed alerts with these reasons do not count. */
    ignore_closed_as: z.array(z.enum(['true_positive', 'false_positive', 'benign'])).default(['false_positive', 'benign']),
  })
  .strict()
  .prefault({});

export type RiskConfig = z.infer<typeof riskConfigSchema>;
