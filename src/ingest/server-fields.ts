/**
 * Fields of a stored event that the server owns: which tenant and data stream it is in (`data_stream.*`), which
 * agent sent it (`agent.*`), when it was ingested and what its original was (`event.ingested`, `event.original`),
 * what Nyx's enrichment found (`threat.*`, `tags` such as `ioc:*`), and Elasticsearch's metadata (`_id`, `_index`,
 * every `_`-prefixed top-level name). An agent writes none of them in any spelling: Elasticsearch and the
 * pipelines read `{"data_stream":{"namespace":…}}`, `{"data_stream.namespace":…}` and
 * `{"data_stream":{"namespace.x":…}}` as the same field, so all three are checked as one dotted path.
 */

/** Dotted paths an agent may not write, nor anything under them. */
const SERVER_OWNED_PATHS: readonly string[] = ['data_stream', 'agent', 'event.ingested', 'event.original', 'threat'];

/** Undotted top-level keys that are, or may hold, a server-owned field. */
const LOOKED_AT_ROOTS: ReadonlySet<string> = new Set([...SERVER_OWNED_PATHS.map((p) => p.split('.')[0]!), 'tags']);

/**
 * JSON text that may spell a key findServerOwnedField flags: a looked-at root, alone or dotted (`"agent"`,
 * `"data_stream.namespace"`), a `_` name, or a `\u` escape that could spell either. A Cowrie line
 * (`"eventid"`, `"src_ip"`, …) holds none, so it need not be parsed to be checked.
 */
const MAY_SPELL_OWNED_KEY = new RegExp(`"(?:${[...LOOKED_AT_ROOTS].join('|')})[".]|"_|\\\\u`);

export function mayHoldServerOwnedKey(jsonText: string): boolean {
  return MAY_SPELL_OWNED_KEY.test(jsonText);
}

/** Tag values Nyx writes itself (indicator matches, pipeline outcomes): an agent claiming one would fake a detection. */
const RESERVED_TAG_PREFIXES: readonly string[] = ['ioc:', 'nyx_'];

/** Why each server-owned root is the server's, for the per-event rejection. */
const OWNER_REASON: Record<string, string> = {
  data_stream: 'the tenant and data stream come from the agent key, never from the event',
  agent: 'which agent sent an event comes from its key, never from the event',
  event: 'Nyx sets it when it stores the event',
  threat: 'indicator enrichment is written by Nyx, never by the event',
};

export interface ServerOwnedField {
  /** The field as the agent spelled it, from the event's root (e.g. `data_stream.namespace`, `raw.agent.id`). */
  field: string;
  reason: string;
}

function ownedPathOf(segments: string[]): string | undefined {
  const dotted = segments.join('.');
  for (const path of SERVER_OWNED_PATHS) if (dotted === path || dotted.startsWith(`${path}.`)) return path;
  return undefined;
}

/** True when some owned path continues below `segments` (so an object there must be looked into). */
function ownedBelow(segments: string[]): boolean {
  const prefix = `${segments.join('.')}.`;
  return SERVER_OWNED_PATHS.some((path) => path.startsWith(prefix));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The first server-owned field an agent's record carries, in any spelling, or undefined. `prefix` names where the
 * record sits in the event (`raw` for a Cowrie record whose keys land at the document's root).
 * Looks only as deep as the owned paths go (two levels), so a deep or wide record costs no more than its top.
 */
export function findServerOwnedField(record: Record<string, unknown>, prefix = ''): ServerOwnedField | undefined {
  const at = (key: string): string => (prefix ? `${prefix}.${key}` : key);
  for (const key of Object.keys(record)) {
    // Most keys of most events (ts, category, cmd, …): neither dotted nor a root Nyx owns or looks into.
    if (!key.includes('.') && !LOOKED_AT_ROOTS.has(key) && key.charCodeAt(0) !== 95 /* _ */) continue;
    if (key.startsWith('_')) {
      return { field: at(key), reason: 'a name starting with _ is Elasticsearch metadata (_id, _index, _routing, …) or a pipeline-internal field, never an event field' };
    }
    const segments = key.split('.');
    const owned = ownedPathOf(segments);
    if (owned) return { field: at(key), reason: `server-owned field ${owned}: ${OWNER_REASON[owned.split('.')[0]!]}` };
    const value = record[key];
    if (key === 'tags' || segments[0] === 'tags') {
      const reserved = reservedTag(value);
      if (reserved !== undefined) return { field: at(key), reason: `tag "${reserved}" is reserved: Nyx writes ${RESERVED_TAG_PREFIXES.map((p) => `${p}*`).join(' and ')} tags itself` };
    }
    if (isPlainObject(value) && ownedBelow(segments)) {
      for (const inner of Object.keys(value)) {
        const innerOwned = ownedPathOf([...segments, ...inner.split('.')]);
        if (innerOwned) return { field: at(`${key}.${inner}`), reason: `server-owned field ${innerOwned}: ${OWNER_REASON[innerOwned.split('.')[0]!]}` };
      }
    }
  }
  return undefined;
}

/** The first tag value Nyx reserves (compared as Elasticsearch's keyword would not: case and leading space ignored). */
function reservedTag(value: unknown): string | undefined {
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const normal = v.trimStart().toLowerCase();
    if (RESERVED_TAG_PREFIXES.some((p) => normal.startsWith(p))) return v;
  }
  return undefined;
}

/**
 * Puts the server's values back after a pipeline ran: drops every spelling of `data_stream` (nested, dotted at the
 * root) and of the other owned roots the caller passes, then sets them. A pipeline that parses an agent's JSON into
 * the root (`json` with `add_to_root`) runs before this, so nothing it wrote survives.
 */
export function stampServerFields(doc: Record<string, unknown>, owned: Record<string, unknown>): void {
  const roots = Object.keys(owned);
  for (const key of Object.keys(doc)) {
    const root = key.split('.', 1)[0]!;
    if (key !== root && roots.includes(root)) delete doc[key];
  }
  for (const root of roots) doc[root] = owned[root];
}
