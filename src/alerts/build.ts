import { readField, type EcsDocument, type MappedSigmaRule, type SigmaMatch, type DetectionExpr } from '../detection/sigma/index.ts';
import { conditionHolds, ruleSignal, scoreRisk, severityOf, type InputSignal, type RuleLevel } from '../detection/scoring/index.ts';
import { alertId, bucketStart, type AlertDocument } from './schema.ts';
import { threatFromTags } from './mitre.ts';
import { rulePolicy, type AlertPolicy } from './policy.ts';

/**
 * Builds alert documents. `buildAlert` is the general form (correlation, hunts, any detector);
 * `buildAlertFromMatch` is the Sigma stream/watcher form on top of it. Same rule + entity + suppression
 * bucket → same `_id`, whichever path or replica builds it.
 */

export type EntityType = AlertDocument['nyx']['alert']['entity_type'];

export interface AlertRuleInfo {
  id: string;
  name: string;
  description?: string | undefined;
  level?: RuleLevel | undefined;
  status?: string | undefined;
  tags: string[];
  falsepositives?: string[] | undefined;
  /** e.g. "sigma", "sigma-correlation". */
  ruleset?: string | undefined;
}

export interface AlertInput {
  namespace: string;
  rule: AlertRuleInfo;
  /** The event (or, for correlations, a representative event): entity, context and ECS copies come from it. */
  event: EcsDocument;
  /** When the detected activity happened (the bucket is taken from this). Default: the event's @timestamp. */
  at?: string | undefined;
  evidence: { event_ids: string[]; indices: string[]; fields?: Record<string, unknown> | undefined };
  /** A sentence for the analyst; default: built from the rule, entity and evidence fields. */
  reason?: string | undefined;
  /** Forces the entity instead of the policy's entity fields. */
  entity?: { type: EntityType; value: string } | undefined;
  /** Signals beyond the rule's own (correlations add theirs). */
  signals?: InputSignal[] | undefined;
  count?: number | undefined;
  now?: Date | undefined;
}

/** ECS fields copied from the event onto the alert (bounded: no event.original, no payloads). */
const COPIED_FIELDS = [
  'host.name', 'host.hostname', 'host.ip', 'host.os.type', 'user.name', 'user.domain', 'source.ip', 'source.port', 'destination.ip', 'destination.port',
  'process.name', 'process.executable', 'process.command_line', 'process.pid', 'process.parent.name', 'process.parent.executable',
  'file.path', 'registry.path', 'agent.id', 'agent.name', 'observer.type', 'url.full', 'data_stream.dataset',
  // Where the host runs: the response playbooks isolate cloud instances by these.
  'cloud.provider', 'cloud.region', 'cloud.account.id', 'cloud.instance.id', 'cloud.instance.name',
  'file.hash.sha256', 'file.hash.md5', 'process.hash.sha256', 'destination.domain', 'url.domain',
] as const;
const MAX_VALUE_CHARS = 1024;

function entityTypeOf(field: string): EntityType {
  if (field.startsWith('host.') || field === 'agent.name') return 'host';
  if (field.startsWith('user.')) return 'user';
  if (field.endsWith('.ip') || field.endsWith('.address')) return 'ip';
  if (field.startsWith('process.')) return 'process';
  if (field.startsWith('file.')) return 'file';
  return 'none';
}

function firstValue(doc: EcsDocument, field: string): string | undefined {
  return readField(doc, field).find((v) => v.trim() !== '');
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    const next = node[p];
    if (next && typeof next === 'object' && !Array.isArray(next)) node = next as Record<string, unknown>;
    else node = node[p] = {};
  }
  node[parts.at(-1)!] = value;
}

function clip(v: string): string {
  return v.length > MAX_VALUE_CHARS ? `${v.slice(0, MAX_VALUE_CHARS)}…` : v;
}

function eventTime(doc: EcsDocument): string | undefined {
  const t = firstValue(doc, '@timestamp');
  return t && !Number.isNaN(Date.parse(t)) ? new Date(t).toISOString() : undefined;
}

/** Resolves the alert's entity: the first entity field the event has, else "none". */
export function alertEntity(doc: EcsDocument, fields: string[]): { type: EntityType; value: string } {
  for (const f of fields) {
    const v = firstValue(doc, f);
    if (v) return { type: entityTypeOf(f), value: v.toLowerCase() };
  }
  return { type: 'none', value: 'none' };
}

/** The evidence fields worth a sentence: not the coarse event.* routing fields, not Nyx's own. */
function reasonFields(fields: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(fields).filter(([k]) => !k.startsWith('event.') && !k.startsWith('sigma.') && !k.startsWith('data_stream.'));
}

export function buildAlert(input: AlertInput, policy: AlertPolicy): AlertDocument | undefined {
  const rp = rulePolicy(policy, input.rule.id);
  if (!rp.enabled) return undefined;
  // Exceptions live beside the rules (overrides.yml) and are applied here, so every path honours them.
  if (rp.exceptions.some((c) => conditionHolds(c, input.event))) return undefined;
  const now = input.now ?? new Date();
  const at = input.at ?? eventTime(input.event) ?? now.toISOString();
  const entity = input.entity ?? alertEntity(input.event, rp.entity);
  const bucket = bucketStart(at, rp.suppressionWindowMs);
  const base = ruleSignal(policy.scoring, input.rule);
  if (rp.signalWeight !== undefined) base.weight = rp.signalWeight;
  if (rp.confidence !== undefined) base.confidence = rp.confidence;
  const risk = scoreRisk(policy.scoring, input.event, [base, ...(input.signals ?? [])]);
  const threat = threatFromTags(policy.mitre, input.rule.tags);
  const fields = input.evidence.fields ?? {};
  const reason =
    input.reason ??
    `${input.rule.name} on ${entity.type === 'none' ? 'an unknown entity' : `${entity.type} ${entity.value}`}` +
      (reasonFields(fields).length ? `: ${reasonFields(fields).slice(0, 3).map(([k, v]) => `${k}=${JSON.stringify(Array.isArray(v) && v.length === 1 ? v[0] : v)}`).join(', ')}` : '');

  const doc: Record<string, unknown> = {};
  for (const f of COPIED_FIELDS) {
    const values = readField(input.event, f);
    if (values.length) setPath(doc, f, values.length === 1 ? clip(values[0]!) : values.slice(0, 16).map(clip));
  }
  const category = readField(input.event, 'event.category');
  Object.assign(doc, {
    '@timestamp': now.toISOString(),
    event: {
      kind: 'alert',
      severity: severityOf(policy.scoring, input.rule.level),
      risk_score: risk.score,
      created: now.toISOString(),
      ...(category.length ? { category } : {}),
      ...(input.evidence.event_ids.length ? { reference: input.evidence.event_ids[0] } : {}),
    },
    rule: {
      id: input.rule.id,
      name: input.rule.name,
      ...(input.rule.description ? { description: input.rule.description } : {}),
      ruleset: input.rule.ruleset ?? 'sigma',
      ...(input.rule.level ? { level: input.rule.level } : {}),
    },
    ...(threat ? { threat } : {}),
    nyx: {
      alert: {
        status: 'open',
        reason,
        entity: entity.value,
        entity_type: entity.type,
        bucket_start: bucket,
        suppression_window_ms: rp.suppressionWindowMs,
        namespace: input.namespace,
        first_seen: at,
        evidence: { event_ids: input.evidence.event_ids, indices: input.evidence.indices, ...(Object.keys(fields).length ? { fields } : {}) },
        signals: risk,
        risk_band: risk.band,
        ...(input.rule.falsepositives?.length ? { falsepositives: input.rule.falsepositives } : {}),
        count: input.count ?? 1,
      },
    },
  });
  return doc as AlertDocument;
}

/** The id an alert document is stored under. */
export function idOfAlert(alert: AlertDocument): string {
  return alertId(alert.rule.id, alert.nyx.alert.entity, alert.nyx.alert.bucket_start, alert.nyx.alert.namespace);
}

function exprFields(expr: DetectionExpr, out: Set<string>): Set<string> {
  switch (expr.op) {
    case 'and':
    case 'or':
      for (const a of expr.args) exprFields(a, out);
      break;
    case 'not':
      exprFields(expr.arg, out);
      break;
    case 'match':
    case 'exists':
      for (const f of expr.fields) out.add(f);
      break;
    case 'const':
      break;
  }
  return out;
}

/** The fields a rule reads that the event has, with their values: what the analyst sees as "matched fields". */
export function matchedFields(expr: DetectionExpr, event: EcsDocument): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of exprFields(expr, new Set())) {
    const values = readField(event, f);
    if (values.length) out[f] = values.slice(0, 16).map(clip);
  }
  return out;
}

export interface MatchAlertOptions {
  namespace: string;
  policy: AlertPolicy;
  /** The mapped rule the match came from (description, status, false positives, matched fields). */
  rule?: MappedSigmaRule | undefined;
  /** Where the event is stored and its _id (evidence). */
  index?: string | undefined;
  eventId?: string | undefined;
  now?: Date | undefined;
}

/** A Sigma match on one event → its alert (undefined when policy disables the rule or an exception covers the event). */
export function buildAlertFromMatch(match: SigmaMatch, event: EcsDocument, options: MatchAlertOptions): AlertDocument | undefined {
  const sigma = options.rule?.rule;
  const fields: Record<string, unknown> = options.rule ? matchedFields(options.rule.expr, event) : {};
  return buildAlert(
    {
      namespace: options.namespace,
      rule: {
        id: match.ruleId,
        name: match.title,
        description: sigma?.description,
        level: match.level,
        status: sigma?.status,
        tags: match.tags,
        falsepositives: sigma?.falsepositives,
        ruleset: 'sigma',
      },
      event,
      evidence: {
        event_ids: options.eventId ? [options.eventId] : [],
        indices: options.index ? [options.index] : [],
        ...(Object.keys(fields).length ? { fields: { ...fields, ...(match.selections.length ? { 'sigma.selections': match.selections } : {}) } } : match.selections.length ? { fields: { 'sigma.selections': match.selections } } : {}),
      },
      now: options.now,
    },
    options.policy,
  );
}
