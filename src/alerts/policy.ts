import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NyxError } from '../errors.ts';
import { fieldConditionSchema, loadScoringModel, type FieldCondition, type ScoringModel } from '../detection/scoring/index.ts';
import { loadMitreTable, type MitreTable } from './mitre.ts';
import { refuseReservedKeys } from '../reserved-keys.ts';

/**
 * What turns a detection into an alert, as data beside the rules: suppression window and entity fields per
 * rule (rules/overrides.yml), the MITRE tables (rules/mitre) and the risk model (rules/scoring.yml).
 */

/** The repository's own rules/ folder (the default rules root). */
export const DEFAULT_RULES_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'rules');

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}

const durationSchema = z
  .string()
  .refine((s) => (parseDuration(s) ?? 0) > 0, { message: 'expected a positive duration such as 30s, 15m, 1h or 1d' })
  .transform((s) => parseDuration(s)!);

const ruleOverrideSchema = z.strictObject({
  suppression_window: durationSchema.optional(),
  entity: z.array(z.string().min(1)).min(1).optional(),
  enabled: z.boolean().optional(),
  signal_weight: z.number().min(0).max(100).optional(),
  confidence: z.number().min(0).max(1).optional(),
  /** Known-good activity: an event that meets any of these raises no alert for this rule (both paths). */
  exceptions: z.array(fieldConditionSchema).optional(),
});
export type RuleOverride = z.infer<typeof ruleOverrideSchema>;

const overridesFileSchema = z.strictObject({
  version: z.literal(1),
  defaults: z.strictObject({ suppression_window: durationSchema, entity: z.array(z.string().min(1)).min(1), exceptions: z.array(fieldConditionSchema).default([]) }),
  rules: z.record(z.string().min(1), ruleOverrideSchema).default({}),
});

export interface AlertPolicy {
  mitre: MitreTable;
  scoring: ScoringModel;
  defaults: { suppressionWindowMs: number; entity: string[]; exceptions?: FieldCondition[] };
  rules: Record<string, RuleOverride>;
}

export function loadRuleOverrides(file: string): Pick<AlertPolicy, 'defaults' | 'rules'> {
  let value: unknown;
  try {
    value = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new NyxError(`cannot load ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  refuseReservedKeys(value, file);
  const parsed = overridesFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NyxError(`${file}: '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  const { defaults, rules } = parsed.data;
  return { defaults: { suppressionWindowMs: defaults.suppression_window, entity: defaults.entity, exceptions: defaults.exceptions }, rules };
}

/** Loads overrides.yml, mitre/ and scoring.yml from a rules root (default: the repository's rules/). */
export function loadAlertPolicy(rulesRoot = DEFAULT_RULES_ROOT): AlertPolicy {
  return {
    mitre: loadMitreTable(join(rulesRoot, 'mitre')),
    scoring: loadScoringModel(join(rulesRoot, 'scoring.yml')),
    ...loadRuleOverrides(join(rulesRoot, 'overrides.yml')),
  };
}

/** The policy for one rule, defaults filled in. */
export function rulePolicy(
  policy: AlertPolicy,
  ruleId: string,
): { suppressionWindowMs: number; entity: string[]; enabled: boolean; exceptions: FieldCondition[]; signalWeight?: number; confidence?: number } {
  const o = policy.rules[ruleId] ?? {};
  return {
    suppressionWindowMs: o.suppression_window ?? policy.defaults.suppressionWindowMs,
    entity: o.entity ?? policy.defaults.entity,
    enabled: o.enabled ?? true,
    exceptions: [...(policy.defaults.exceptions ?? []), ...(o.exceptions ?? [])],
    ...(o.signal_weight !== undefined ? { signalWeight: o.signal_weight } : {}),
    ...(o.confidence !== undefined ? { confidence: o.confidence } : {}),
  };
}
