import { readField, type EcsDocument } from '../sigma/index.ts';
import { conditionHolds, describeCondition, type CompiledCorrelation, type CorrelationSet } from './model.ts';
import { periodicity } from './periodicity.ts';

/**
 * The stream evaluator: per correlation, per group key, the occurrences of its referenced rules
 * inside a sliding window of `timespan` (a burst that straddles a clock boundary still fires).
 *
 * Semantics (shared with the Elasticsearch evaluator, which replays fetched events through this
 * same code so both report identical groups and windows):
 * - Lower-bound conditions (gt/gte) fire as soon as the window's measure holds; the group's
 *   window then restarts, so one burst is one match and the next needs fresh events.
 * - Conditions with an upper bound (lt/lte/eq) need the whole window: an episode opens at a
 *   group's first occurrence and is judged once `timespan` has passed (a later occurrence or
 *   `advance(now)` closes it).
 * - event_count counts occurrences, value_count distinct values of `condition.field`, value_sum
 *   (Nyx extension) sums it, temporal counts distinct referenced rules, temporal_ordered the
 *   longest prefix of the referenced rules seen in order.
 * - A firing of a chained correlation is an occurrence of the correlation that references it, at
 *   the time of the event that completed it, with its group values.
 *
 * Memory is bounded: at most `maxGroupsPerCorrelation` groups (least recently touched evicted) and
 * `maxEventsPerGroup` occurrences per group (oldest dropped); expired groups are swept.
 */

export interface CorrelationEvent {
  doc: EcsDocument;
  /** Ids of the detection rules this event matched (e.g. SigmaRuleSet.match(doc).map((m) => m.ruleId)). */
  ruleIds: string[];
  /** Where it is stored, for evidence. */
  id?: string | undefined;
  index?: string | undefined;
  /** Epoch ms; default the event's @timestamp (else now). */
  timestamp?: number | undefined;
}

export interface CorrelationMatch {
  correlationId: string;
  title: string;
  type: CompiledCorrelation['type'];
  /** Group-by name (as written in the rule) → value. */
  group: Record<string, string>;
  /** ECS field → value, for the group-by names that resolve to one ECS field. */
  entityFields: Record<string, string>;
  /** Canonical text of the group, e.g. `source.ip=203.0.113.9`. */
  groupKey: string;
  windowStart: string;
  windowEnd: string;
  /** The measured value (count, distinct values, sum, rules seen) and the condition it met. */
  value: number;
  condition: string;
  /** Occurrences in the window. */
  occurrences: number;
  /** Evidence: stored ids and indices of the events (first 100). */
  eventIds: string[];
  indices: string[];
  /** Referenced rules/correlations seen in the window. */
  inputs: string[];
  /** Distinct values of `condition.field` (value_count, first 20). */
  values?: string[];
  periodicity?: { meanIntervalMs: number; jitter: number };
  /** The event that completed the match (context for the alert). */
  lastEvent: EcsDocument;
}

export interface CorrelationLimits {
  maxGroupsPerCorrelation: number;
  maxEventsPerGroup: number;
}

export const DEFAULT_CORRELATION_LIMITS: CorrelationLimits = { maxGroupsPerCorrelation: 10_000, maxEventsPerGroup: 1_000 };

interface Occurrence {
  t: number;
  input: number;
  value?: string | number | undefined;
  eventIds: string[];
  indices: string[];
  /** Held by the newest occurrence of its group only (see insertSorted): the alert reads no other. */
  doc: EcsDocument | undefined;
}

interface GroupState {
  group: string[];
  items: Occurrence[];
  /** Non-eager correlations: when the open episode began. */
  episodeStart?: number | undefined;
  lastT: number;
}

const MAX_EVIDENCE = 100;

function eventTime(doc: EcsDocument): number | undefined {
  const t = readField(doc, '@timestamp')[0];
  const ms = t === undefined ? NaN : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

function firstValue(doc: EcsDocument, fields: string[]): string | undefined {
  for (const f of fields) {
    const v = readField(doc, f).find((x) => x !== '');
    if (v !== undefined) return v;
  }
  return undefined;
}

function measure(c: CompiledCorrelation, items: Occurrence[]): number {
  switch (c.type) {
    case 'event_count':
      return items.length;
    case 'value_count':
      return new Set(items.map((i) => String(i.value))).size;
    case 'value_sum':
      return items.reduce((s, i) => s + (typeof i.value === 'number' ? i.value : 0), 0);
    case 'temporal':
      return new Set(items.map((i) => i.input)).size;
    case 'temporal_ordered': {
      let next = 0;
      for (const i of items) if (i.input === next) next++;
      return next;
    }
  }
}

export class CorrelationState {
  private readonly groups = new Map<string, Map<string, GroupState>>();
  private readonly byRule = new Map<string, Array<{ c: CompiledCorrelation; input: number }>>();
  private readonly byCorrelation = new Map<string, Array<{ c: CompiledCorrelation; input: number }>>();
  private readonly limits: CorrelationLimits;
  private latest = -Infinity;
  private observed = 0;
  /** Groups dropped because a correlation had too many (the oldest-touched go first). */
  evictedGroups = 0;
  /** Occurrences dropped because one group had too many inside its window. */
  droppedOccurrences = 0;

  constructor(
    readonly set: CorrelationSet,
    limits: Partial<CorrelationLimits> = {},
  ) {
    this.limits = { ...DEFAULT_CORRELATION_LIMITS, ...limits };
    for (const c of set.correlations) {
      this.groups.set(c.id, new Map());
      c.inputs.forEach((input, n) => {
        const key = input.kind === 'rule' ? input.ruleId : input.correlationId;
        const index = input.kind === 'rule' ? this.byRule : this.byCorrelation;
        const list = index.get(key) ?? [];
        list.push({ c, input: n });
        index.set(key, list);
      });
    }
  }

  /** Detection rule ids some correlation reads: events matching none of them need not be observed. */
  get ruleIds(): string[] {
    return [...this.byRule.keys()];
  }

  /** Live groups across all correlations (for metrics). */
  get groupCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.size;
    return n;
  }

  /** Feed one event; returns the correlation matches it completed (chained ones included). */
  observe(event: CorrelationEvent): CorrelationMatch[] {
    const t = event.timestamp ?? eventTime(event.doc) ?? Date.now();
    if (t > this.latest) this.latest = t;
    if (++this.observed % 1000 === 0) this.sweep();
    const out: CorrelationMatch[] = [];
    for (const ruleId of new Set(event.ruleIds)) {
      for (const { c, input } of this.byRule.get(ruleId) ?? []) {
        const spec = c.inputs[input];
        if (spec?.kind !== 'rule') continue;
        const group: string[] = [];
        let complete = true;
        for (const fields of spec.groupFields) {
          const v = firstValue(event.doc, fields);
          if (v === undefined) {
            complete = false; // as in Elasticsearch, an event without a group-by field joins no group
            break;
          }
          group.push(v);
        }
        if (!complete) continue;
        let value: string | number | undefined;
        if (c.type === 'value_count' || c.type === 'value_sum') {
          const raw = firstValue(event.doc, spec.valueFields);
          if (raw === undefined) continue;
          if (c.type === 'value_sum') {
            value = Number(raw);
            if (!Number.isFinite(value)) continue;
          } else value = raw;
        }
        this.feed(c, group, { t, input, value, eventIds: event.id ? [event.id] : [], indices: event.index ? [event.index] : [], doc: event.doc }, out);
      }
    }
    return out;
  }

  /**
   * Close the windows that `now` has passed: judges upper-bound conditions (lt/lte/eq) and frees
   * expired groups. The stream path calls it on a timer; the Elasticsearch evaluator at the end of its range.
   */
  advance(now: number): CorrelationMatch[] {
    const out: CorrelationMatch[] = [];
    for (const c of this.set.correlations) {
      const groups = this.groups.get(c.id)!;
      for (const [key, state] of groups) {
        if (!c.eager && state.episodeStart !== undefined && now >= state.episodeStart + c.timespanMs) {
          this.closeEpisode(c, state, out);
          groups.delete(key);
        } else if (c.eager && state.lastT + c.timespanMs < now) groups.delete(key);
      }
    }
    return out;
  }

  private sweep(): void {
    for (const c of this.set.correlations) {
      if (!c.eager) continue;
      const groups = this.groups.get(c.id)!;
      for (const [key, state] of groups) if (state.lastT + c.timespanMs < this.latest) groups.delete(key);
    }
  }

  private state(c: CompiledCorrelation, group: string[]): GroupState {
    const groups = this.groups.get(c.id)!;
    const key = JSON.stringify(group);
    let s = groups.get(key);
    if (s) {
      groups.delete(key); // re-insert: Map order is least → most recently touched
    } else {
      s = { group, items: [], lastT: -Infinity };
      if (groups.size >= this.limits.maxGroupsPerCorrelation) {
        const oldest = groups.keys().next().value;
        if (oldest !== undefined) groups.delete(oldest);
        this.evictedGroups++;
      }
    }
    groups.set(key, s);
    return s;
  }

  private feed(c: CompiledCorrelation, group: string[], occ: Occurrence, out: CorrelationMatch[]): void {
    const s = this.state(c, group);
    s.lastT = Math.max(s.lastT, occ.t);
    if (c.eager) {
      insertSorted(s.items, occ);
      const newest = s.items[s.items.length - 1]!.t;
      let drop = 0;
      while (drop < s.items.length && s.items[drop]!.t < newest - c.timespanMs) drop++;
      if (s.items.length - drop > this.limits.maxEventsPerGroup) {
        this.droppedOccurrences += s.items.length - drop - this.limits.maxEventsPerGroup;
        drop = s.items.length - this.limits.maxEventsPerGroup;
      }
      if (drop) s.items.splice(0, drop);
      const value = measure(c, s.items);
      if (!conditionHolds(c.condition, value)) return;
      let regular: CorrelationMatch['periodicity'];
      if (c.rule.periodic) {
        const p = periodicity(s.items.map((i) => i.t));
        if (!p || p.jitter > c.rule.periodic.maxJitter || p.meanIntervalMs < c.rule.periodic.minIntervalMs) return;
        regular = p;
      }
      const items = s.items;
      s.items = [];
      this.emit(c, s.group, items, value, out, regular);
      return;
    }
    if (s.episodeStart !== undefined && occ.t >= s.episodeStart + c.timespanMs) this.closeEpisode(c, s, out);
    if (s.episodeStart === undefined) s.episodeStart = occ.t;
    if (s.items.length >= this.limits.maxEventsPerGroup) {
      this.droppedOccurrences++;
      return;
    }
    insertSorted(s.items, occ);
  }

  private closeEpisode(c: CompiledCorrelation, s: GroupState, out: CorrelationMatch[]): void {
    const items = s.items;
    s.items = [];
    s.episodeStart = undefined;
    if (!items.length) return;
    const value = measure(c, items);
    if (conditionHolds(c.condition, value)) this.emit(c, s.group, items, value, out);
  }

  private emit(c: CompiledCorrelation, group: string[], items: Occurrence[], value: number, out: CorrelationMatch[], regular?: CorrelationMatch['periodicity']): void {
    const named: Record<string, string> = {};
    const entityFields: Record<string, string> = {};
    c.groupBy.forEach((name, i) => {
      named[name] = group[i]!;
      const ecs = c.groupEcsFields[i];
      if (ecs) entityFields[ecs] = group[i]!;
    });
    const last = items[items.length - 1]!;
    const inputs = [...new Set(items.map((i) => i.input))].sort((a, b) => a - b).map((n) => {
      const spec = c.inputs[n]!;
      return spec.kind === 'rule' ? spec.ruleId : spec.correlationId;
    });
    const eventIds = [...new Set(items.flatMap((i) => i.eventIds))];
    const indices = [...new Set(items.flatMap((i) => i.indices))];
    const match: CorrelationMatch = {
      correlationId: c.id,
      title: c.rule.title,
      type: c.type,
      group: named,
      entityFields,
      groupKey: c.groupBy.map((name, i) => `${c.groupEcsFields[i] ?? name}=${group[i]}`).join(','),
      windowStart: new Date(items[0]!.t).toISOString(),
      windowEnd: new Date(last.t).toISOString(),
      value,
      condition: describeCondition(c.condition),
      occurrences: items.length,
      eventIds: eventIds.slice(0, MAX_EVIDENCE),
      indices,
      inputs,
      ...(c.type === 'value_count' ? { values: [...new Set(items.map((i) => String(i.value)))].slice(0, 20) } : {}),
      ...(regular ? { periodicity: regular } : {}),
      lastEvent: last.doc ?? {},
    };
    out.push(match);
    // Chained correlations see this firing as one of their events.
    for (const { c: outer, input } of this.byCorrelation.get(c.id) ?? []) {
      const outerGroup = outer.groupBy.map((name) => named[name]!);
      this.feed(outer, outerGroup, { t: last.t, input, eventIds: eventIds.slice(0, MAX_EVIDENCE), indices, doc: last.doc }, out);
    }
  }
}

/**
 * Inserts in time order. Only the newest occurrence's document is ever read (a match's lastEvent), so the
 * others let theirs go: a group holds one document instead of up to maxEventsPerGroup of them.
 */
function insertSorted(items: Occurrence[], occ: Occurrence): void {
  let i = items.length;
  while (i > 0 && items[i - 1]!.t > occ.t) i--;
  if (i === items.length) {
    const previous = items[i - 1];
    if (previous) previous.doc = undefined;
  } else occ.doc = undefined;
  items.splice(i, 0, occ);
}

/**
 * The stream entry point: feed one event (with the detection rules it matched) to the
 * correlation state; returns the correlation matches it completed.
 */
export function evaluateCorrelationInStream(state: CorrelationState, event: CorrelationEvent): CorrelationMatch[] {
  return state.observe(event);
}
