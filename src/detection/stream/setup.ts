import { join, resolve } from 'node:path';
import type { NyxConfig } from '../../config/index.ts';
import { NyxError } from '../../errors.ts';
import { loadAlertPolicy, DEFAULT_RULES_ROOT, type AlertPolicy } from '../../alerts/index.ts';
import { loadFieldMappings, loadSigmaRules, ruleIdOf, type MappedSigmaRule, type SigmaRuleError } from '../sigma/index.ts';

/** What both detection paths run: the same rules, mapped the same way, under the same alert policy. */
export interface DetectionSetup {
  rules: MappedSigmaRule[];
  /** Rules that did not load (each names its file, line and reason); the others run. */
  errors: SigmaRuleError[];
  policy: AlertPolicy;
  rulesRoot: string;
}

export function loadDetectionSetup(config: Pick<NyxConfig, 'alerts'>, overridePaths?: string[]): DetectionSetup {
  const rulesRoot = resolve(config.alerts.rules_root ?? DEFAULT_RULES_ROOT);
  const paths = overridePaths?.length ? overridePaths : config.alerts.sigma_paths ?? [join(rulesRoot, 'sigma')];
  const policy = loadAlertPolicy(rulesRoot);
  const { rules, errors } = loadSigmaRules(paths, loadFieldMappings(join(rulesRoot, 'mappings')));
  const enabled = rules.filter((r) => policy.rules[ruleIdOf(r.rule)]?.enabled !== false);
  if (enabled.length === 0) throw new NyxError(`no Sigma rules to run under ${paths.join(', ')}${errors.length ? ` (${errors.length} failed to load: ${errors[0]!.message})` : ''}`);
  return { rules: enabled, errors, policy, rulesRoot };
}

/** True when a data stream / index name falls under one of a rule's index patterns (`*` wildcards). */
export function indexMatches(patterns: string[], name: string): boolean {
  return patterns.some((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(name));
}
