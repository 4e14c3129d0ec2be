import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { NyxError } from '../errors.ts';
import type { AlertDocument } from '../alerts/index.ts';
import { RESPONSE_LEVELS } from './levels.ts';
import { readField } from './template.ts';
import { refuseReservedKeys } from '../reserved-keys.ts';

/** The shipped playbooks (YAML data, one per file). */
export const DEFAULT_PLAYBOOKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'playbooks');

/** "90s", "30m", "1h", "7d", or seconds as a number. */
const durationSchema = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+[smhd]$/, 'expected a duration such as 30m, 1h or 7d').transform((s) => {
    const n = Number(s.slice(0, -1));
    return n * ({ s: 1, m: 60, h: 3600, d: 86400 } as const)[s.slice(-1) as 's' | 'm' | 'h' | 'd'];
  }),
]);

const stepSchema = z
  .object({
    /** Unique within the playbook; part of the deterministic action id, so renaming a step makes new actions. */
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected lowercase letters, digits, _ and -'),
    /** The action driver type, e.g. thehive_alert, block_ip, isolate_endpoint. */
    type: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a driver type such as block_ip'),
    /** Defaults to the playbook's level; never below the action type's floor. */
    level: z.enum(RESPONSE_LEVELS).optional(),
    on_error: z.enum(['stop', 'continue']).default('stop'),
    /** For blocks and isolations: released automatically when it ends. */
    ttl: durationSchema.optional(),
    description: z.string().optional(),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const triggerSchema = z
  .object({
    rule_ids: z.array(z.string().min(1)).optional(),
    /** Matched against the alert's `tags` and `rule.tags`. */
    tags: z.array(z.string().min(1)).optional(),
    /** ATT&CK technique ids; T1110 also matches its sub-techniques (T1110.001). */
    techniques: z.array(z.string().regex(/^T\d{4}(\.\d{3})?$/, 'expected an ATT&CK technique id such as T1110 or T1110.001')).optional(),
    min_severity: z.number().int().min(0).max(100).optional(),
    min_risk_score: z.number().min(0).max(100).optional(),
    entity_types: z.array(z.enum(['host', 'user', 'ip', 'process', 'file', 'none'])).optional(),
  })
  .strict()
  .refine((t) => Object.values(t).some((v) => v !== undefined), 'a trigger needs at least one condition');

export const playbookSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected lowercase letters, digits, _ and -'),
    description: z.string().optional(),
    enabled: z.boolean().default(true),
    level: z.enum(RESPONSE_LEVELS),
    trigger: triggerSchema,
    steps: z.array(stepSchema).min(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.steps.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${s.id}"` });
      seen.add(s.id);
    });
  });

export type Playbook = z.infer<typeof playbookSchema> & { file: string };
export type PlaybookStep = Playbook['steps'][number];

/** Parses one playbook file; errors name the file, the path inside it and the reason. */
export function parsePlaybook(text: string, file: string): Playbook {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new NyxError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${err.message.split('\n')[0]}`);
    }
    throw err;
  }
  refuseReservedKeys(raw, file);
  const parsed = playbookSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.map(String).join('.') || '(top level)';
    const detail = issue?.code === 'unrecognized_keys' ? `unknown key ${issue.keys.join(', ')}` : issue?.message;
    throw new NyxError(`${file}: ${at}: ${detail ?? 'invalid playbook'}`);
  }
  return { ...parsed.data, file };
}

/** Every playbook in a folder (*.yml, *.yaml); names must be unique. */
export function loadPlaybooks(dir: string = DEFAULT_PLAYBOOKS_DIR): Playbook[] {
  if (!existsSync(dir)) throw new NyxError(`playbooks folder ${dir} not found`);
  const playbooks: Playbook[] = [];
  const byName = new Map<string, string>();
  for (const entry of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const file = join(dir, entry);
    const playbook = parsePlaybook(readFileSync(file, 'utf8'), file);
    const other = byName.get(playbook.name);
    if (other) throw new NyxError(`${file}: name: playbook "${playbook.name}" is already defined in ${other}`);
    byName.set(playbook.name, file);
    playbooks.push(playbook);
  }
  return playbooks;
}

function asStrings(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** Whether an alert fires a playbook: any listed rule id, tag or technique, and every threshold/entity filter. */
export function playbookMatches(playbook: Playbook, alert: AlertDocument): boolean {
  if (!playbook.enabled) return false;
  const t = playbook.trigger;
  const identity = [t.rule_ids, t.tags, t.techniques].filter((x) => x !== undefined);
  if (identity.length) {
    const ruleHit = t.rule_ids?.includes(alert.rule.id) ?? false;
    const alertTags = [...asStrings(readField(alert, 'tags')), ...asStrings(readField(alert, 'rule.tags'))];
    const tagHit = t.tags?.some((tag) => alertTags.includes(tag)) ?? false;
    const techniques = asStrings(readField(alert, 'threat.technique.id'));
    const techniqueHit = t.techniques?.some((want) => techniques.some((have) => have === want || have.startsWith(`${want}.`))) ?? false;
    if (!ruleHit && !tagHit && !techniqueHit) return false;
  }
  if (t.min_severity !== undefined && alert.event.severity < t.min_severity) return false;
  if (t.min_risk_score !== undefined && alert.event.risk_score < t.min_risk_score) return false;
  if (t.entity_types && !t.entity_types.includes(alert.nyx.alert.entity_type)) return false;
  return true;
}
