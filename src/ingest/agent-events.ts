import { createHash } from 'node:crypto';
import type { Source } from '../config/index.ts';
import { stableStringify } from '../bootstrap/desired.ts';
import type { AgentIdentity } from '../agents/registry.ts';
import type { AgentEvent } from './event-contract.ts';
import { findServerOwnedField, mayHoldServerOwnedKey } from './server-fields.ts';

/** A validated event, ready for its source's data stream. */
export interface RoutedEvent {
  source: Source;
  doc: Record<string, unknown>;
  id: string;
  /** Server-owned fields (`agent`) to set again after the source pipeline ran, whatever it wrote. */
  owned: Record<string, unknown>;
}

export type RouteResult = ({ ok: true } & RoutedEvent) | { ok: false; field: string; reason: string };

/**
 * The event's deterministic `_id`: the agent's id and sequence number when the agent numbers its events,
 * otherwise a hash of the agent id and the event's canonical JSON. Either way a retried event maps to the
 * id it had the first time, and `create` stores it once.
 */
export function eventId(agentId: string, event: AgentEvent): string {
  if (event.seq !== undefined) return `${agentId}-${event.seq}`;
  return `${agentId}-h${createHash('sha256').update(stableStringify(event)).digest('base64url')}`;
}

/**
 * `{ ...event without seq, agent }` in one copy instead of two; keys keep the order the spreads would give
 * them (a body-supplied `agent` keeps its place and takes the server's value), so event.original is unchanged.
 */
function withoutSeq(event: AgentEvent, agent: Record<string, unknown>): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const key in event) {
    if (key === 'seq' || !Object.prototype.hasOwnProperty.call(event, key)) continue;
    // As a spread would: "__proto__" stays a plain own key, never the prototype.
    if (key === '__proto__') Object.defineProperty(doc, key, { value: event[key], enumerable: true, writable: true, configurable: true });
    else doc[key] = event[key];
  }
  doc.agent = agent;
  return doc;
}

/**
 * Which data stream an event belongs to and the document its source pipeline expects: agent categories and
 * Windows records go to `endpoint` as the agent sent them (the pipeline knows both shapes), a syslog line goes
 * to `syslog` in `message`, a Cowrie record to `cowrie` as the record itself (or its JSON line in `message`).
 */
export function routeEvent(agent: AgentIdentity, event: AgentEvent): RouteResult {
  const id = eventId(agent.agentId, event);
  // Which agent sent it is a fact the server knows; the body cannot claim another agent.
  const stamp = { agent: { id: agent.agentId, name: agent.hostname, type: 'nyx' } };
  // An event that claims a server-owned field (another tenant's namespace, another agent, an ioc: tag) is refused
  // whole, with the field and why: storing it without the claim would hide the attempt from the agent and the operator.
  const claimed = findServerOwnedField(event) ?? serverOwnedFieldInRecord(event);
  if (claimed) return { ok: false, field: claimed.field, reason: claimed.reason };
  switch (event.category) {
    case 'syslog':
      return { ok: true, source: 'syslog', id, doc: { message: typeof event.raw === 'string' ? event.raw : event.message, ...stamp }, owned: stamp };
    case 'cowrie': {
      const raw = event.raw;
      if (typeof raw === 'string') {
        if (!raw.trimStart().startsWith('{')) return { ok: false, field: 'raw', reason: 'expected a Cowrie JSON record (an object or its JSON line)' };
        return { ok: true, source: 'cowrie', id, doc: { message: raw, ...stamp }, owned: stamp };
      }
      return { ok: true, source: 'cowrie', id, doc: { ...(raw as Record<string, unknown>), ...stamp }, owned: stamp };
    }
    case 'windows_event': {
      const { raw, seq: _seq, ...rest } = event;
      return { ok: true, source: 'endpoint', id, doc: { ...rest, Event: (raw as { Event: unknown }).Event, ...stamp }, owned: stamp };
    }
    default:
      return { ok: true, source: 'endpoint', id, doc: withoutSeq(event, stamp.agent), owned: stamp };
  }
}

/**
 * A Cowrie record's keys land at the document's root (spread here, or merged by the pipeline's `json` processor
 * with add_to_root when it comes as its JSON line), so they are checked as the event's own keys are.
 */
function serverOwnedFieldInRecord(event: AgentEvent): ReturnType<typeof findServerOwnedField> {
  if (event.category !== 'cowrie') return undefined;
  let record: unknown = event.raw;
  if (typeof record === 'string') {
    // The pipeline parses the line again: parse it here only when it may spell a key findServerOwnedField flags.
    if (!record.trimStart().startsWith('{') || !mayHoldServerOwnedKey(record)) return undefined;
    try {
      record = JSON.parse(record);
    } catch {
      return undefined; // the pipeline reports an unparseable record as the event's error
    }
  }
  return record && typeof record === 'object' && !Array.isArray(record) ? findServerOwnedField(record as Record<string, unknown>, 'raw') : undefined;
}
