import { buildAlert, type AlertDocument, type AlertPolicy, type EntityType } from '../../alerts/index.ts';
import type { EcsDocument } from '../sigma/index.ts';
import type { CorrelationMatch } from './engine.ts';
import { requireCorrelation, type CorrelationSet } from './model.ts';

/**
 * A correlation match → the shared alert document (src/alerts buildAlert): the entity is the
 * group-by values, the bucket starts at the window's first event, so the id is deterministic per
 * correlation + group + window whichever evaluator (stream or Elasticsearch) or replica builds it.
 */

const ENTITY_ORDER: Array<[prefix: string, type: EntityType]> = [
  ['host.', 'host'],
  ['user.', 'user'],
  ['source.ip', 'ip'],
  ['destination.ip', 'ip'],
  ['client.ip', 'ip'],
];

function entityTypeOf(fields: string[]): EntityType {
  for (const [prefix, type] of ENTITY_ORDER) if (fields.some((f) => f.startsWith(prefix))) return type;
  return 'none';
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    const next = node[p];
    node = next && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : (node[p] = {});
  }
  node[parts.at(-1)!] = value;
}

export interface CorrelationAlertOptions {
  namespace: string;
  policy: AlertPolicy;
  now?: Date;
}

export function buildCorrelationAlert(set: CorrelationSet, match: CorrelationMatch, options: CorrelationAlertOptions): AlertDocument | undefined {
  const c = requireCorrelation(set, match.correlationId);
  // Context from the completing event, with the group's values on top (they name the entity).
  const event = structuredClone(match.lastEvent) as EcsDocument;
  for (const [field, value] of Object.entries(match.entityFields)) {
    delete event[field]; // a dotted key would shadow the nested value
    setPath(event, field, value);
  }
  const fields: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(match.group).map(([k, v]) => [`group.${k}`, v])),
    'correlation.type': match.type,
    'correlation.value': match.value,
    'correlation.condition': match.condition,
    'correlation.window_start': match.windowStart,
    'correlation.window_end': match.windowEnd,
    'correlation.rules': match.inputs,
    ...(match.values ? { 'correlation.values': match.values } : {}),
    ...(match.periodicity ? { 'correlation.mean_interval_ms': Math.round(match.periodicity.meanIntervalMs), 'correlation.jitter': Number(match.periodicity.jitter.toFixed(3)) } : {}),
  };
  const measure = { event_count: 'events', value_count: `distinct ${c.condition.field ?? 'values'}`, value_sum: `total ${c.condition.field ?? ''}`.trim(), temporal: 'of the rules', temporal_ordered: 'rules in order' }[c.type];
  return buildAlert(
    {
      namespace: options.namespace,
      rule: {
        id: c.id,
        name: c.rule.title,
        description: c.rule.description,
        level: c.rule.level,
        status: c.rule.status,
        tags: c.rule.tags,
        falsepositives: c.rule.falsepositives,
        ruleset: 'sigma-correlation',
      },
      event,
      at: match.windowStart,
      evidence: { event_ids: match.eventIds, indices: match.indices, fields },
      reason: `${c.rule.title}: ${match.groupKey}: ${match.value} ${measure} (${match.condition}) between ${match.windowStart} and ${match.windowEnd}`,
      entity: { type: entityTypeOf(Object.keys(match.entityFields)), value: match.groupKey.toLowerCase() },
      count: match.occurrences,
      ...(options.now ? { now: options.now } : {}),
    },
    options.policy,
  );
}
