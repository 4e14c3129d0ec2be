import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NyxError } from '../errors.ts';
import { refuseReservedKeys } from '../reserved-keys.ts';

/** MITRE ATT&CK id → name tables (rules/mitre/*.yml), turning a rule's attack.* tags into ECS threat.* fields. */

const tacticsFileSchema = z.strictObject({
  version: z.literal(1),
  tactics: z.array(z.strictObject({ tag: z.string().regex(/^[a-z_]+$/, 'expected the tag with underscores, e.g. defense_evasion'), id: z.string().regex(/^TA\d{4}$/), name: z.string().min(1) })).min(1),
});
const techniquesFileSchema = z.strictObject({
  version: z.literal(1),
  techniques: z.record(z.string().regex(/^T\d{4}(\.\d{3})?$/, 'expected a technique id such as T1059 or T1059.001'), z.string().min(1)),
});

export interface MitreTable {
  tactics: Map<string, { id: string; name: string }>;
  techniques: Map<string, string>;
}

export interface ThreatFields {
  framework: 'MITRE ATT&CK';
  tactic: { id: string[]; name: string[] };
  technique: { id: string[]; name: string[]; subtechnique?: { id: string[]; name: string[] } };
}

function readYaml<T>(file: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new NyxError(`cannot load ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  refuseReservedKeys(value, file);
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NyxError(`${file}: '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  return parsed.data;
}

export function loadMitreTable(dir: string): MitreTable {
  const tactics = readYaml(join(dir, 'tactics.yml'), tacticsFileSchema);
  const techniques = readYaml(join(dir, 'techniques.yml'), techniquesFileSchema);
  return {
    tactics: new Map(tactics.tactics.map((t) => [t.tag, { id: t.id, name: t.name }])),
    techniques: new Map(Object.entries(techniques.techniques)),
  };
}

/** attack.* tags → ECS threat fields (undefined when a rule has none). Unknown technique ids keep their id as name. */
export function threatFromTags(table: MitreTable, tags: string[]): ThreatFields | undefined {
  const tactic = { id: [] as string[], name: [] as string[] };
  const technique = { id: [] as string[], name: [] as string[] };
  const sub = { id: [] as string[], name: [] as string[] };
  const push = (into: { id: string[]; name: string[] }, id: string, name: string): void => {
    if (!into.id.includes(id)) {
      into.id.push(id);
      into.name.push(name);
    }
  };
  for (const raw of tags) {
    const tag = raw.toLowerCase();
    if (!tag.startsWith('attack.')) continue;
    const rest = tag.slice(7);
    if (/^t\d{4}(\.\d{3})?$/.test(rest)) {
      const id = rest.toUpperCase();
      const parent = id.split('.')[0]!;
      push(technique, parent, table.techniques.get(parent) ?? parent);
      if (id !== parent) push(sub, id, table.techniques.get(id) ?? id);
      continue;
    }
    const t = table.tactics.get(rest.replaceAll('-', '_'));
    if (t) push(tactic, t.id, t.name);
  }
  if (!tactic.id.length && !technique.id.length) return undefined;
  return { framework: 'MITRE ATT&CK', tactic, technique: sub.id.length ? { ...technique, subtechnique: sub } : technique };
}
