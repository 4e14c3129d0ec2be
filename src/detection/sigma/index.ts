/** Sigma detection: parse → map (data-driven field mappings) → stream matcher | Elasticsearch query. */
export { SigmaRuleError } from './errors.ts';
export { parseSigmaFile, parseSigmaRule, parseTimespan, SIGMA_MODIFIERS } from './parse.ts';
export { parseSigmaCondition } from './condition.ts';
export { parseSigmaRegex } from './regex.ts';
export {
  buildFieldMappings,
  loadFieldMappings,
  mapSigmaRule,
  parseFieldMapping,
  resolveLogsource,
  type FieldMappingFile,
  type FieldMappings,
  type ResolvedLogsource,
} from './mapping.ts';
export { compileRuleMatcher, SigmaRuleSet, ruleIdOf, type EventMatcher, type SigmaMatch } from './matcher.ts';
export { EventView, FieldTable } from './document.ts';
export { compileMappedRuleQuery, compileRuleQuery, type EsQuery, type RuleQuery } from './query.ts';
export { readField, type EcsDocument } from './document.ts';
export { parseEventsText, readEvents, type LoadedEvent } from './events.ts';
export {
  findRuleFiles,
  loadSigmaRules,
  ruleTestFile,
  runRuleSelfTests,
  testRules,
  validateRules,
  type LoadedRules,
  type RuleIssue,
  type RuleSelfTestFailure,
  type RuleTestMatch,
  type RuleValidation,
  type TestRulesOptions,
} from './rules.ts';
export type * from './types.ts';
