/**
 * The shapes shared by the Sigma parser, the field-mapping stage and the two backends.
 *
 * Pipeline (same split as pySigma, own code):
 *   YAML text ──parseSigmaRule──> SigmaRule (Sigma field names, modifiers applied to values)
 *            ──mapSigmaRule────> MappedSigmaRule (ECS fields, indices, one boolean DetectionExpr)
 *            ──compileRuleMatcher / compileRuleQuery──> stream matcher | Elasticsearch query
 */

/** One piece of a Sigma string value: literal text, `*`, `?`, or an `expand` placeholder. */
export type SigmaStringPart =
  | { kind: 'text'; text: string }
  | { kind: 'anyChars' }
  | { kind: 'oneChar' }
  | { kind: 'placeholder'; name: string };

export interface SigmaString {
  parts: SigmaStringPart[];
}

export interface SigmaRegexFlags {
  i: boolean;
  m: boolean;
  s: boolean;
}

/** A value of a detection item after all modifiers ran (modifiers are gone; only meaning remains). */
export type SigmaValue =
  | { kind: 'string'; value: SigmaString; cased: boolean }
  | { kind: 'regex'; source: string; flags: SigmaRegexFlags }
  | { kind: 'cidr'; network: string }
  | { kind: 'compare'; op: 'lt' | 'lte' | 'gt' | 'gte'; value: number }
  | { kind: 'null' }
  | { kind: 'exists'; exists: boolean }
  | { kind: 'fieldref'; field: string; cased: boolean };

/** One `Field|mod|mod: value(s)` entry. `field: null` is a keyword (field-less) search. */
export interface SigmaDetectionItem {
  field: string | null;
  modifiers: string[];
  values: SigmaValue[];
  /** `any`: values OR-ed (the default); `all`: AND-ed (the `all` modifier). */
  join: 'any' | 'all';
  /** The `neq` modifier: the field must differ from every value. */
  negated: boolean;
  line: number;
}

/** A search identifier: OR over alternatives, each an AND of detection items. */
export interface SigmaSelection {
  name: string;
  line: number;
  alternatives: SigmaDetectionItem[][];
}

export type SigmaCondition =
  | { op: 'and' | 'or'; args: SigmaCondition[] }
  | { op: 'not'; arg: SigmaCondition }
  | { op: 'ref'; name: string }
  /** `1 of pattern` / `all of pattern`, already resolved to the matching identifiers. */
  | { op: 'of'; quantifier: 'one' | 'all'; names: string[] };

export interface SigmaLogsource {
  product?: string;
  category?: string;
  service?: string;
  definition?: string;
}

export type SigmaLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical';

/** Metadata every Sigma document carries, detection rule or correlation. */
export interface SigmaMetadata {
  title: string;
  id?: string;
  /** The document's `name`, by which correlation rules may reference it. */
  name?: string;
  status?: string;
  description?: string;
  references: string[];
  author?: string;
  date?: string;
  modified?: string;
  tags: string[];
  falsepositives: string[];
  level?: SigmaLevel;
}

export interface SigmaRule extends SigmaMetadata {
  file: string;
  logsource: SigmaLogsource;
  fields: string[];
  selections: Map<string, SigmaSelection>;
  condition: SigmaCondition;
  /** Line of the `condition:` key, for errors found later (mapping, compilation). */
  conditionLine: number;
}

/** Types the query backend needs to choose a query (term on ip, range on numbers, …). */
export type TargetFieldType = 'keyword' | 'ip' | 'number' | 'boolean';

/** Value tests after field mapping: placeholders expanded, fields resolved. */
export type ValueTest =
  | { kind: 'string'; parts: Exclude<SigmaStringPart, { kind: 'placeholder' }>[]; cased: boolean }
  | { kind: 'regex'; source: string; flags: SigmaRegexFlags }
  | { kind: 'cidr'; network: string }
  | { kind: 'compare'; op: 'lt' | 'lte' | 'gt' | 'gte'; value: number }
  | { kind: 'fieldref'; fields: string[]; cased: boolean };

/**
 * The detection as one boolean expression over ECS fields, the single input of both backends.
 * `match`: true when any value of any of `fields` passes any of `tests`.
 * `exists`: true when any of `fields` has a non-null value.
 */
export type DetectionExpr =
  | { op: 'and' | 'or'; args: DetectionExpr[] }
  | { op: 'not'; arg: DetectionExpr }
  | { op: 'const'; value: boolean }
  | { op: 'match'; fields: string[]; tests: ValueTest[]; keyword: boolean }
  | { op: 'exists'; fields: string[] };

export interface MappedSigmaRule {
  rule: SigmaRule;
  /** Data streams / index patterns the rule's logsource lives in. */
  indices: string[];
  expr: DetectionExpr;
  /** Each search identifier's own expression (evidence: which selections matched). */
  selections: Record<string, DetectionExpr>;
  fieldTypes: Record<string, TargetFieldType>;
  /** Sigma fields that had no explicit mapping and used the mapping's fallback. */
  fallbackFields: string[];
}

/**
 * Correlation rules (Sigma specification v2). `value_sum` is a Nyx extension (documented in
 * rules/correlation/README.md): the sum of a numeric field per group within the timespan.
 */
export type SigmaCorrelationType = 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered' | 'value_sum';

/** One or more bounds, AND-ed (`gt: 100, lte: 200` is a range); `field` for value_count/value_sum. */
export interface SigmaCorrelationCondition {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  eq?: number;
  field?: string;
}

/** Nyx extension for beaconing: the intervals between a group's events must be regular. */
export interface SigmaPeriodicity {
  /** Largest coefficient of variation (stddev / mean) of the intervals that still counts as periodic. */
  maxJitter: number;
  /** Intervals shorter than this on average are a burst, not a beacon. */
  minIntervalMs: number;
}

export interface SigmaCorrelationRule extends SigmaMetadata {
  file: string;
  /** Line of the document's first key. */
  line: number;
  type: SigmaCorrelationType;
  /** Referenced rules (detection or correlation), by id or name, as written. */
  rules: string[];
  groupBy: string[];
  timespan: string;
  timespanMs: number;
  /** Always set after parsing: temporal types default to "all referenced rules". */
  condition: SigmaCorrelationCondition;
  /** alias → (rule name → field). */
  aliases: Record<string, Record<string, string>>;
  /** Whether the referenced rules also alert on their own. */
  generate: boolean;
  periodic?: SigmaPeriodicity;
}

/** One YAML document of a rule file. */
export type SigmaDocument = { kind: 'rule'; rule: SigmaRule } | { kind: 'correlation'; correlation: SigmaCorrelationRule };
