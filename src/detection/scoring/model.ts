import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import { refuseReservedKeys } from '../../reserved-keys.ts';

/**
 * The risk model as data (rules/scoring.yml): signal weights, confidences, context multipliers and
 * trust offsets, each gated by a condition on one event field. Validated at load; a bad file is one error
 * naming the key.
 */

const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type RuleLevel = (typeof LEVELS)[number];

const cidrText = z.string().refine((s) => parseCidrText(s) !== undefined, { message: 'expected a CIDR such as 10.0.0.0/8' });

/** A condition on one field: at least one of the tests must hold for at least one value. */
export const fieldConditionSchema = z
  .strictObject({
    field: z.string().min(1),
    equals: z.array(z.string()).optional(),
    prefix: z.array(z.string()).optional(),
    contains: z.array(z.string()).optional(),
    cidr: z.array(cidrText).optional(),
    /** Holds when the field holds an IP outside every listed network. */
    not_cidr: z.array(cidrText).optional(),
  })
  .refine((c) => c.equals || c.prefix || c.contains || c.cidr || c.not_cidr, { message: 'a condition needs equals, prefix, contains, cidr or not_cidr' });
export type FieldCondition = z.infer<typeof fieldConditionSchema>;

const levelNumbers = z.strictObject(Object.fromEntries(LEVELS.map((l) => [l, z.number().min(0).max(100)])) as Record<RuleLevel, z.ZodNumber>);

export const scoringModelSchema = z.strictObject({
  version: z.literal(1),
  severity_by_level: levelNumbers,
  signal_weight_by_level: levelNumbers,
  confidence_by_status: z.record(z.string(), z.number().min(0).max(1)),
  default_confidence: z.number().min(0).max(1),
  signals: z.array(z.strictObject({ name: z.string().min(1), weight: z.number().min(0).max(100), confidence: z.number().min(0).max(1), when: fieldConditionSchema })).default([]),
  context_multipliers: z.array(z.strictObject({ name: z.string().min(1), multiplier: z.number().min(0).max(10), when: fieldConditionSchema })).default([]),
  trust_offsets: z.array(z.strictObject({ name: z.string().min(1), offset: z.number().min(0).max(100), when: fieldConditionSchema })).default([]),
  bands: z
    .array(z.strictObject({ name: z.string().min(1), min: z.number().min(0).max(100) }))
    .min(1)
    .refine((b) => b[0]!.min === 0 && b.every((x, i) => i === 0 || x.min > b[i - 1]!.min), { message: 'bands must start at 0 and rise' }),
});
export type ScoringModel = z.infer<typeof scoringModelSchema>;

export function parseScoringModel(value: unknown, where: string): ScoringModel {
  const parsed = scoringModelSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NyxError(`${where}: '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  return parsed.data;
}

export function loadScoringModel(file: string): ScoringModel {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new NyxError(`cannot read the scoring model ${file}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new NyxError(`${file}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  refuseReservedKeys(value, file);
  return parseScoringModel(value, file);
}

export function parseCidrText(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address, bits] = text.split('/');
  const family = isIP(address ?? '');
  const prefix = Number(bits);
  if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) return undefined;
  return { address: address!, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

export function blockListOf(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const p = parseCidrText(c)!;
    list.addSubnet(p.address, p.prefix, p.family);
  }
  return list;
}
