import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseTimespan, ruleTestFile, SigmaRuleSet, type EcsDocument, type FieldMappings } from '../sigma/index.ts';
import { CorrelationState, type CorrelationMatch } from './engine.ts';
import { alertingCorrelationIds, loadCorrelationRules } from './load.ts';
import type { CorrelationSet } from './model.ts';

/**
 * The rule pack's correlation tests: rules/tests/<correlation-file-stem>.yml holds event
 * sequences. Every positive sequence must fire the file's outermost correlation(s) (and, when
 * `expect` names a group, for that group); no negative sequence may fire them.
 *
 * Events are ECS documents. To keep sequences short, an event may carry `_offset` (a timespan
 * such as `90s`, from the sequence's `start`) instead of @timestamp, and `_repeat: N` with
 * `_every: 60s` to stand for N copies spaced evenly (a beacon, a burst of failures).
 */

const offsetSchema = z.string().refine((t) => parseTimespan(t) !== undefined || t === '0s' || /^0[smhd]$/.test(t), { message: "expected an offset such as '0s', '90s', '5m'" });
const eventSchema = z.looseObject({
  _offset: offsetSchema.optional(),
  _repeat: z.number().int().positive().max(10_000).optional(),
  _every: offsetSchema.optional(),
});
const sequenceSchema = z.strictObject({
  name: z.string().min(1),
  start: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an ISO time' }).default('2026-01-01T00:00:00Z'),
  events: z.array(eventSchema).min(1),
  /** Groups the correlation must fire for (group-by name → value); default: any group. */
  expect: z.array(z.record(z.string(), z.string())).optional(),
});
const correlationTestFileSchema = z.strictObject({
  positive: z.array(sequenceSchema).min(1),
  negative: z.array(sequenceSchema).min(1),
});
export type CorrelationTestSequence = z.infer<typeof sequenceSchema>;

function offsetMs(text: string | undefined): number {
  return text === undefined ? 0 : (parseTimespan(text) ?? 0);
}

/** Expand a sequence into timestamped ECS documents, in time order. */
export function expandSequence(seq: CorrelationTestSequence): EcsDocument[] {
  const start = Date.parse(seq.start);
  const out: Array<{ t: number; n: number; doc: EcsDocument }> = [];
  let n = 0;
  for (const raw of seq.events) {
    const { _offset, _repeat, _every, ...doc } = raw;
    const repeat = _repeat ?? 1;
    for (let k = 0; k < repeat; k++) {
      const given = typeof doc['@timestamp'] === 'string' ? Date.parse(doc['@timestamp']) : NaN;
      const t = Number.isNaN(given) || _offset !== undefined ? start + offsetMs(_offset) + k * offsetMs(_every) : given + k * offsetMs(_every);
      out.push({ t, n: n++, doc: { ...structuredClone(doc), '@timestamp': new Date(t).toISOString() } });
    }
  }
  return out.sort((a, b) => a.t - b.t || a.n - b.n).map((e) => e.doc);
}

/** Run a sequence through a fresh stream evaluator: every correlation match, windows closed at the end. */
export function runSequence(set: CorrelationSet, matcher: SigmaRuleSet, docs: EcsDocument[]): CorrelationMatch[] {
  const state = new CorrelationState(set);
  const matches: CorrelationMatch[] = [];
  let last = 0;
  docs.forEach((doc, i) => {
    last = Math.max(last, Date.parse(String(doc['@timestamp'])));
    matches.push(...state.observe({ doc, ruleIds: matcher.match(doc).map((m) => m.ruleId), id: `seq-${i}` }));
  });
  const longest = Math.max(0, ...set.correlations.map((c) => c.timespanMs));
  matches.push(...state.advance(last + longest + 1));
  return matches;
}

export interface CorrelationSelfTestFailure {
  file: string;
  reason: string;
}

export function runCorrelationSelfTests(rulesPaths: string | string[], mappings: FieldMappings): { correlations: number; sequences: number; failures: CorrelationSelfTestFailure[] } {
  const { set, rules, errors } = loadCorrelationRules(rulesPaths, mappings);
  const failures: CorrelationSelfTestFailure[] = errors.map((e) => ({ file: e.file, reason: e.reason }));
  const matcher = new SigmaRuleSet(rules);
  const alerting = alertingCorrelationIds(set);
  const files = new Map<string, string[]>();
  for (const c of set.correlations) if (alerting.has(c.id)) files.set(c.rule.file, [...(files.get(c.rule.file) ?? []), c.id]);
  let sequences = 0;
  for (const [file, ids] of files) {
    const testFile = ruleTestFile(file);
    if (!testFile) {
      failures.push({ file, reason: 'no test sequences (tests/<rule-file-stem>.yml)' });
      continue;
    }
    const parsed = correlationTestFileSchema.safeParse(parseYaml(readFileSync(testFile, 'utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      failures.push({ file: testFile, reason: `'${issue.path.join('.')}': ${issue.message}` });
      continue;
    }
    for (const seq of parsed.data.positive) {
      sequences++;
      const fired = runSequence(set, matcher, expandSequence(seq)).filter((m) => ids.includes(m.correlationId));
      if (!fired.length) failures.push({ file: testFile, reason: `positive '${seq.name}' does not fire ${ids.join(', ')}` });
      for (const want of seq.expect ?? []) {
        if (!fired.some((m) => Object.entries(want).every(([k, v]) => m.group[k] === v))) failures.push({ file: testFile, reason: `positive '${seq.name}' does not fire for ${JSON.stringify(want)}` });
      }
    }
    for (const seq of parsed.data.negative) {
      sequences++;
      const fired = runSequence(set, matcher, expandSequence(seq)).filter((m) => ids.includes(m.correlationId));
      if (fired.length) failures.push({ file: testFile, reason: `negative '${seq.name}' fires ${fired[0]!.correlationId} for ${fired[0]!.groupKey}` });
    }
  }
  return { correlations: set.correlations.length, sequences, failures };
}
