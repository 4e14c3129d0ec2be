import { join, resolve } from 'node:path';
import type { NyxConfig } from '../../config/index.ts';
import { NyxError } from '../../errors.ts';
import { loadAlertPolicy, DEFAULT_RULES_ROOT, type AlertPolicy } from '../../alerts/index.ts';
import { loadFieldMappings, loadSigmaRules, ruleIdOf, type MappedSigmaRule, type SigmaRuleError } from '../sigma/index.ts';
import { compileCorrelations, correlationOnlyRuleIds, type CorrelationSet } from '../correlation/index.ts';

/** What both detection paths run: the same rules, mapped the same way, under the same alert policy. */
export interface DetectionSetup {
  /** Rules that alert on their own (enabled by policy, and not only feeding correlations). */
  rules: MappedSigmaRule[];
  /**
   * Correlation rules resolved against every loaded rule (their base rules included, even those that
   * do not alert on their own: `generate: false`, Sigma's default for referenced rules).
   */
  correlations: CorrelationSet;
  /** Rules that did not load and correlations that did not resolve (each names its file, line and reason); the others run. */
  errors: SigmaRuleError[];
  policy: AlertPolicy;
  rulesRoot: string;
}

export function loadDetectionSetup(config: Pick<NyxConfig, 'alerts'>, overridePaths?: string[]): DetectionSetup {
  const rulesRoot = resolve(config.alerts.rules_root ?? DEFAULT_RULES_ROOT);
  const paths = overridePaths?.length ? overridePaths : config.alerts.sigma_paths ?? [join(rulesRoot, 'sigma')];
  const policy = loadAlertPolicy(rulesRoot);
  const mappings = loadFieldMappings(join(rulesRoot, 'mappings'));
  const loaded = loadSigmaRules(paths, mappings);
  const compiled = compileCorrelations(loaded.correlations, loaded.rules, mappings);
  // A rule only read by correlations would alert on every single event (one per failed login).
  const feedOnly = correlationOnlyRuleIds(compiled.set);
  const rules = loaded.rules.filter((r) => policy.rules[ruleIdOf(r.rule)]?.enabled !== false && !feedOnly.has(ruleIdOf(r.rule)));
  const errors = [...loaded.errors, ...compiled.errors];
  if (rules.length === 0 && compiled.set.correlations.length === 0) {
    throw new NyxError(`no Sigma rules to run under ${paths.join(', ')}${errors.length ? ` (${errors.length} failed to load: ${errors[0]!.message})` : ''}`);
  }
  return { rules, correlations: compiled.set, errors, policy, rulesRoot };
}

/** True when a data stream / index name falls under one of a rule's index patterns (`*` wildcards). */
export function indexMatches(patterns: string[], name: string): boolean {
  return patterns.some((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(name));
}
