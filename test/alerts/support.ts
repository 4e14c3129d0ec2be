import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { loadFieldMappings, loadSigmaRules, type MappedSigmaRule } from '../../src/detection/sigma/index.ts';
import { DEFAULT_RULES_ROOT } from '../../src/alerts/index.ts';

export const RULES_ROOT = DEFAULT_RULES_ROOT;
export const PACK = join(RULES_ROOT, 'sigma');

let cached: MappedSigmaRule[] | undefined;
export function packRules(): MappedSigmaRule[] {
  cached ??= loadSigmaRules(PACK, loadFieldMappings(join(RULES_ROOT, 'mappings'))).rules;
  return cached;
}

export function packRule(stem: string): MappedSigmaRule {
  const r = packRules().find((m) => m.rule.file.endsWith(`/${stem}.yml`));
  if (!r) throw new Error(`no pack rule ${stem}`);
  return r;
}

/** The positive/negative test events that ship with a pack rule. */
export function ruleTestEvents(stem: string): { positive: Array<Record<string, unknown>>; negative: Array<Record<string, unknown>> } {
  return parseYaml(readFileSync(join(RULES_ROOT, 'tests', `${stem}.yml`), 'utf8')) as { positive: Array<Record<string, unknown>>; negative: Array<Record<string, unknown>> };
}
