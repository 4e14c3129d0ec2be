import { loadSigmaRules, type FieldMappings, type MappedSigmaRule, type SigmaRuleError } from '../sigma/index.ts';
import { compileCorrelations, type CorrelationSet } from './model.ts';

export interface LoadedCorrelations {
  set: CorrelationSet;
  /** Every detection rule loaded (the stream matcher needs them to feed the correlations). */
  rules: MappedSigmaRule[];
  /** Files that did not load and correlations that did not resolve; the rest keep working. */
  errors: SigmaRuleError[];
}

/** Load rule files/directories and resolve their correlation rules against the detection rules found. */
export function loadCorrelationRules(paths: string | string[], mappings: FieldMappings): LoadedCorrelations {
  const loaded = loadSigmaRules(paths, mappings);
  const { set, errors } = compileCorrelations(loaded.correlations, loaded.rules, mappings);
  return { set, rules: loaded.rules, errors: [...loaded.errors, ...errors] };
}

/**
 * Detection rules that only feed correlations (every correlation reading them has `generate: false`,
 * the Sigma default): they should not alert on their own.
 */
export function correlationOnlyRuleIds(set: CorrelationSet): Set<string> {
  const generating = new Set<string>();
  const referenced = new Set<string>();
  for (const c of set.correlations) {
    for (const input of c.inputs) {
      if (input.kind !== 'rule') continue;
      referenced.add(input.ruleId);
      if (c.rule.generate) generating.add(input.ruleId);
    }
  }
  return new Set([...referenced].filter((id) => !generating.has(id)));
}

/** Correlations whose matches are alerts: those no other correlation consumes (the outermost of a chain). */
export function alertingCorrelationIds(set: CorrelationSet): Set<string> {
  const consumed = new Set(set.correlations.flatMap((c) => c.inputs.flatMap((i) => (i.kind === 'correlation' ? [i.correlationId] : []))));
  return new Set(set.correlations.map((c) => c.id).filter((id) => !consumed.has(id)));
}
