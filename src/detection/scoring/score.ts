import { isIP, type BlockList } from 'node:net';
import { readField, type EcsDocument } from '../sigma/index.ts';
import { blockListOf, type FieldCondition, type RuleLevel, type ScoringModel } from './model.ts';

/**
 * risk = Σ(signal_weight × confidence × context_multiplier) − trust_offsets, clamped to 0–100.
 * The breakdown is kept so every alert can show which signals made its score.
 */

export interface ScoredSignal {
  name: string;
  weight: number;
  confidence: number;
  /** weight × confidence × context multiplier (rounded to 2 decimals). */
  contribution: number;
}

export interface RiskBreakdown {
  score: number;
  band: string;
  signals: ScoredSignal[];
  context: Array<{ name: string; multiplier: number }>;
  context_multiplier: number;
  trust_offsets: Array<{ name: string; offset: number }>;
}

/** A signal a caller already knows (e.g. the Sigma match itself); the model adds the event-driven ones. */
export interface InputSignal {
  name: string;
  weight: number;
  confidence: number;
}

type CompiledCondition = (doc: EcsDocument) => boolean;
const compiledConditions = new WeakMap<FieldCondition, CompiledCondition>();

function compileCondition(c: FieldCondition): CompiledCondition {
  const equals = c.equals && new Set(c.equals.map((v) => v.toLowerCase()));
  const prefix = c.prefix?.map((v) => v.toLowerCase());
  const contains = c.contains?.map((v) => v.toLowerCase());
  const inside: BlockList | undefined = c.cidr && blockListOf(c.cidr);
  const outside: BlockList | undefined = c.not_cidr && blockListOf(c.not_cidr);
  const family = (ip: string): 'ipv4' | 'ipv6' | undefined => (isIP(ip) === 4 ? 'ipv4' : isIP(ip) === 6 ? 'ipv6' : undefined);
  return (doc) =>
    readField(doc, c.field).some((raw) => {
      const v = raw.toLowerCase();
      if (equals?.has(v)) return true;
      if (prefix?.some((p) => v.startsWith(p))) return true;
      if (contains?.some((p) => v.includes(p))) return true;
      const fam = family(raw);
      if (fam && inside?.check(raw, fam)) return true;
      if (fam && outside && !outside.check(raw, fam)) return true;
      return false;
    });
}

export function conditionHolds(c: FieldCondition, doc: EcsDocument): boolean {
  let fn = compiledConditions.get(c);
  if (!fn) compiledConditions.set(c, (fn = compileCondition(c)));
  return fn(doc);
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

export function riskBand(model: ScoringModel, score: number): string {
  let band = model.bands[0]!.name;
  for (const b of model.bands) if (score >= b.min) band = b.name;
  return band;
}

/** Scores one event given the signals already known about it (at least the rule's own). */
export function scoreRisk(model: ScoringModel, doc: EcsDocument, base: InputSignal[]): RiskBreakdown {
  const context = model.context_multipliers.filter((m) => conditionHolds(m.when, doc)).map((m) => ({ name: m.name, multiplier: m.multiplier }));
  const multiplier = context.reduce((acc, m) => acc * m.multiplier, 1);
  const inputs = [...base, ...model.signals.filter((s) => conditionHolds(s.when, doc)).map((s) => ({ name: s.name, weight: s.weight, confidence: s.confidence }))];
  const signals = inputs.map((s) => ({ ...s, contribution: round2(s.weight * s.confidence * multiplier) }));
  const offsets = model.trust_offsets.filter((t) => conditionHolds(t.when, doc)).map((t) => ({ name: t.name, offset: t.offset }));
  const raw = signals.reduce((acc, s) => acc + s.weight * s.confidence * multiplier, 0) - offsets.reduce((acc, t) => acc + t.offset, 0);
  const score = Math.round(Math.min(100, Math.max(0, raw)));
  return { score, band: riskBand(model, score), signals, context, context_multiplier: round2(multiplier), trust_offsets: offsets };
}

/** The base signal of a Sigma match: weight from the rule's level, confidence from its status. */
export function ruleSignal(model: ScoringModel, rule: { id: string; level?: RuleLevel | undefined; status?: string | undefined }): InputSignal {
  const level = rule.level ?? 'medium';
  const confidence = (rule.status !== undefined ? model.confidence_by_status[rule.status] : undefined) ?? model.default_confidence;
  return { name: `sigma:${rule.id}`, weight: model.signal_weight_by_level[level], confidence };
}

export function severityOf(model: ScoringModel, level: RuleLevel | undefined): number {
  return model.severity_by_level[level ?? 'medium'];
}
