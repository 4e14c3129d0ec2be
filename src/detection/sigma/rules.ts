import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { EcsDocument } from './document.ts';
import { SigmaRuleError } from './errors.ts';
import { readEvents } from './events.ts';
import { describeLogsource, mapSigmaRule, type FieldMappings } from './mapping.ts';
import { ruleIdOf, SigmaRuleSet } from './matcher.ts';
import { parseSigmaFile } from './parse.ts';
import { compileMappedRuleQuery } from './query.ts';
import type { MappedSigmaRule, SigmaCorrelationRule, SigmaRule } from './types.ts';

/** Folders under a rules directory that hold data about rules, not rules. */
const NON_RULE_DIRS = new Set(['mappings', 'tests', 'mitre']);
/** Alert policy data beside the rules (src/alerts, src/detection/scoring), not rules. */
const NON_RULE_FILES = new Set(['scoring.yml', 'overrides.yml']);

/** Every Sigma rule file under the given files/directories (mappings/ and tests/ skipped). */
export function findRuleFiles(paths: string | string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, top: boolean): void => {
    if (statSync(p).isDirectory()) {
      if (!top && NON_RULE_DIRS.has(basename(p))) return;
      for (const entry of readdirSync(p).sort()) walk(join(p, entry), false);
    } else if (top || (/\.ya?ml$/.test(p) && !NON_RULE_FILES.has(basename(p)))) out.push(p);
  };
  for (const p of Array.isArray(paths) ? paths : [paths]) walk(p, true);
  return out;
}

export interface LoadedRules {
  rules: MappedSigmaRule[];
  /** Correlation rules found beside the detection rules (references resolved by src/detection/correlation). */
  correlations: SigmaCorrelationRule[];
  /** One per file that did not load; the others keep working. */
  errors: SigmaRuleError[];
}

/**
 * Parse and map every rule; a bad file becomes an error entry, never an exception. A file may
 * hold several documents (detection and correlation rules); all of a file's rules load or none.
 */
export function loadSigmaRules(paths: string | string[], mappings: FieldMappings): LoadedRules {
  const rules: MappedSigmaRule[] = [];
  const correlations: SigmaCorrelationRule[] = [];
  const errors: SigmaRuleError[] = [];
  for (const file of findRuleFiles(paths)) {
    try {
      const fileRules: MappedSigmaRule[] = [];
      const fileCorrelations: SigmaCorrelationRule[] = [];
      for (const doc of parseSigmaFile(readFileSync(file, 'utf8'), file)) {
        if (doc.kind === 'correlation') {
          fileCorrelations.push(doc.correlation);
          continue;
        }
        const mapped = mapSigmaRule(doc.rule, mappings);
        compileMappedRuleQuery(mapped); // both backends must accept it
        fileRules.push(mapped);
      }
      rules.push(...fileRules);
      correlations.push(...fileCorrelations);
    } catch (err) {
      if (err instanceof SigmaRuleError) errors.push(err);
      else errors.push(new SigmaRuleError(file, undefined, (err as Error).message));
    }
  }
  return { rules, correlations, errors };
}

export interface RuleIssue {
  file: string;
  line?: number;
  severity: 'error' | 'warning';
  reason: string;
}

export interface RuleValidation {
  files: number;
  valid: number;
  issues: RuleIssue[];
}

const TECHNIQUE_TAG = /^attack\.t\d{4}(\.\d{3})?$/;
const TACTIC_TAGS = new Set([
  'reconnaissance', 'resource_development', 'resource-development', 'initial_access', 'initial-access', 'execution', 'persistence',
  'privilege_escalation', 'privilege-escalation', 'defense_evasion', 'defense-evasion', 'credential_access', 'credential-access',
  'discovery', 'lateral_movement', 'lateral-movement', 'collection', 'command_and_control', 'command-and-control',
  'exfiltration', 'impact',
]);

function attackTagIssues(rule: Pick<SigmaRule, 'tags'>): string[] {
  const tags = rule.tags.map((t) => t.toLowerCase());
  const issues: string[] = [];
  if (!tags.some((t) => TECHNIQUE_TAG.test(t))) issues.push('no MITRE ATT&CK technique tag (attack.tNNNN)');
  if (!tags.some((t) => t.startsWith('attack.') && TACTIC_TAGS.has(t.slice(7)))) issues.push('no MITRE ATT&CK tactic tag (e.g. attack.execution)');
  return issues;
}

/**
 * `nyx rules validate`: parse errors (unknown modifiers, bad or dangerous regexes, bad
 * conditions), unmapped fields (error without a fallback, warning when the fallback is used),
 * missing ATT&CK tags and level (errors: every rule must carry them).
 */
export function validateRules(paths: string | string[], mappings: FieldMappings): RuleValidation {
  const files = findRuleFiles(paths);
  const issues: RuleIssue[] = [];
  let valid = 0;
  for (const file of files) {
    let ok = true;
    try {
      const docs = parseSigmaFile(readFileSync(file, 'utf8'), file);
      // Sigma v2: in a multi-document file only the outermost correlation carries the metadata.
      const inner = new Set(docs.flatMap((d) => (d.kind === 'correlation' ? d.correlation.rules : [])));
      const outermost = docs.filter((d) => d.kind === 'correlation' && !inner.has(d.correlation.name ?? '') && !inner.has(d.correlation.id ?? ''));
      const metadataCarriers = docs.length > 1 && outermost.length ? outermost : docs;
      for (const doc of docs) {
        if (doc.kind === 'rule') {
          const mapped = mapSigmaRule(doc.rule, mappings);
          compileMappedRuleQuery(mapped);
          for (const field of mapped.fallbackFields) {
            issues.push({ file, severity: 'warning', reason: `field '${field}' has no explicit mapping for ${describeLogsource(doc.rule.logsource)}; using the fallback` });
          }
        }
      }
      for (const doc of metadataCarriers) {
        const meta = doc.kind === 'rule' ? doc.rule : doc.correlation;
        for (const reason of attackTagIssues(meta)) {
          issues.push({ file, severity: 'error', reason });
          ok = false;
        }
        if (!meta.level) {
          issues.push({ file, severity: 'error', reason: 'no level' });
          ok = false;
        }
      }
    } catch (err) {
      ok = false;
      if (err instanceof SigmaRuleError) issues.push({ file, ...(err.line !== undefined ? { line: err.line } : {}), severity: 'error', reason: err.reason });
      else issues.push({ file, severity: 'error', reason: (err as Error).message });
    }
    if (ok) valid++;
  }
  return { files: files.length, valid, issues };
}

export interface RuleTestMatch {
  rule_id: string;
  rule_title: string;
  /** The events file the matching event came from. */
  file: string;
  /** The event's position in that file. */
  index: number;
}

export interface TestRulesOptions {
  mappings: FieldMappings;
  /** Turns an input record into an ECS document (e.g. the endpoint pipeline's Windows-event normaliser). */
  normalise?: (record: EcsDocument) => EcsDocument;
}

/**
 * `nyx rules test <rules…> --events <file|dir>`: every match of every rule over the events,
 * one record per (rule, event). Rules that do not load are returned in `errors`.
 */
export function testRules(rulesPaths: string | string[], eventsPath: string, options: TestRulesOptions): { matches: RuleTestMatch[]; errors: SigmaRuleError[] } {
  const { rules, errors } = loadSigmaRules(rulesPaths, options.mappings);
  const set = new SigmaRuleSet(rules);
  const matches: RuleTestMatch[] = [];
  for (const event of readEvents(eventsPath)) {
    const doc = options.normalise ? options.normalise(event.doc) : event.doc;
    for (const m of set.match(doc)) matches.push({ rule_id: m.ruleId, rule_title: m.title, file: event.file, index: event.index });
  }
  return { matches, errors };
}

// ---------------------------------------------------------------------------------------------
// The rule pack's own test events: rules/tests/<rule-file-stem>.yml with positive/negative lists.

const ruleTestFileSchema = z.strictObject({
  positive: z.array(z.record(z.string(), z.unknown())).min(1),
  negative: z.array(z.record(z.string(), z.unknown())).min(1),
});

export interface RuleSelfTestFailure {
  file: string;
  reason: string;
}

/** Where a rule's test events live: `<rules root>/tests/<stem>.yml`, the root being the nearest ancestor with a tests/ folder. */
export function ruleTestFile(ruleFile: string): string | undefined {
  const stem = basename(ruleFile).replace(/\.ya?ml$/, '');
  for (let dir = dirname(ruleFile); ; dir = dirname(dir)) {
    const candidate = join(dir, 'tests', `${stem}.yml`);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Every rule must fire on each of its positive events and on none of its negatives, in the
 * stream matcher, with the other rules loaded too (the rule set's routing is exercised).
 */
export function runRuleSelfTests(rulesPaths: string | string[], mappings: FieldMappings): { rules: number; events: number; failures: RuleSelfTestFailure[] } {
  const { rules, errors } = loadSigmaRules(rulesPaths, mappings);
  const failures: RuleSelfTestFailure[] = errors.map((e) => ({ file: e.file, reason: e.reason }));
  const set = new SigmaRuleSet(rules);
  let events = 0;
  for (const mapped of rules) {
    const id = ruleIdOf(mapped.rule);
    const testFile = ruleTestFile(mapped.rule.file);
    if (!testFile) {
      failures.push({ file: mapped.rule.file, reason: 'no test events (tests/<rule-file-stem>.yml)' });
      continue;
    }
    const parsed = ruleTestFileSchema.safeParse(parseYaml(readFileSync(testFile, 'utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      failures.push({ file: testFile, reason: `'${issue.path.join('.')}': ${issue.message}` });
      continue;
    }
    parsed.data.positive.forEach((doc, i) => {
      events++;
      if (!set.match(doc).some((m) => m.ruleId === id)) failures.push({ file: testFile, reason: `positive #${i} does not fire ${id} (${mapped.rule.title})` });
    });
    parsed.data.negative.forEach((doc, i) => {
      events++;
      if (set.match(doc).some((m) => m.ruleId === id)) failures.push({ file: testFile, reason: `negative #${i} fires ${id} (${mapped.rule.title})` });
    });
  }
  if (rules.length === 0 && errors.length === 0) throw new NyxError(`no Sigma rules under ${String(rulesPaths)}`);
  return { rules: rules.length, events, failures };
}
