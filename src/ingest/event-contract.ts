import { z } from 'zod';
import { checkEventShape, DEFAULT_EVENT_SHAPE_LIMITS, type EventShapeLimits } from './event-shape.ts';

/**
 * The event contract between `nyx ship` (or any agent) and `POST /api/ingest`.
 * Common fields, then per-category fields at the top level of the event; every known field is typed so
 * one event cannot poison a data stream's mapping for the rest. Unknown extra fields pass through.
 */
export const EVENT_CATEGORIES = [
  'telemetry',
  'process',
  'user_activity',
  'commandline',
  'service',
  'file_activity',
  'network',
  'detection',
  'software',
  'windows_event',
  'syslog',
  'cowrie',
] as const;
export type EventCategory = (typeof EVENT_CATEGORIES)[number];

const MAX_STRING = 64 * 1024;
const text = z.string().max(MAX_STRING);
const shortText = z.string().max(1024);
const port = z.number().int().min(0).max(65535);
const pid = z.number().int().min(0);
const sha256 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected a SHA-256 hex digest (64 hex digits)');
const numbers = z.record(z.string().max(128), z.number());

/** A record as it came from its producer: a JSON object, or its text. */
const rawRecord = z.union([z.record(z.string(), z.unknown()), text]);

/**
 * What an Elasticsearch `date` field can hold, in UTC: years 0000 to 9999 (a wider or negative year, which an
 * offset can produce from 0000-01-01 or 9999-12-31, fails the mapping and would lose the event's time).
 */
const DATE_MAPPING_MIN_MS = Date.parse('0000-01-01T00:00:00Z');
const DATE_MAPPING_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

const timestamp = z.iso
  .datetime({ offset: true, message: 'expected an ISO 8601 timestamp such as 2026-01-31T12:00:00Z' })
  .refine((ts) => {
    const ms = Date.parse(ts);
    return ms >= DATE_MAPPING_MIN_MS && ms <= DATE_MAPPING_MAX_MS;
  }, 'outside what the date mapping can store (0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z in UTC)');

const commonFields = {
  ts: timestamp,
  host: shortText.optional(),
  user: shortText.optional(),
  ip: shortText.optional(),
  raw: z.unknown().optional(),
  source: shortText.default('agent'),
  severity: z.number().int().min(0).max(10).default(3),
  message: text.optional(),
  /** The agent's own sequence number: with the agent id it is the event's deterministic id. */
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
};

/** One process, as the endpoint pipeline reads it (pid, ppid, name, path, cmd, user). */
const processEntry = z.looseObject({
  pid: pid.optional(),
  ppid: pid.optional(),
  name: shortText.optional(),
  path: text.optional(),
  cmd: text.optional(),
  user: shortText.optional(),
  start_time: z.iso.datetime({ offset: true }).optional(),
});

/** Per-category fields, named as pipelines/endpoint.yml maps them to ECS. */
const categorySchemas = {
  telemetry: { cpu: numbers.optional(), ram: numbers.optional(), disk: numbers.optional(), net: numbers.optional(), gpu: numbers.optional() },
  process: { ...processEntry.shape, processes: z.array(processEntry).max(10_000).optional() },
  user_activity: { action: shortText },
  commandline: { cmd: text, parent: text.optional(), pid: pid.optional() },
  service: { service_name: shortText, action: z.enum(['start', 'stop', 'install']) },
  file_activity: { action: z.enum(['download', 'execute']), path: text, sha256: sha256.optional(), url: text.optional() },
  network: { dst_ip: shortText.optional(), dst_port: port.optional(), domain: shortText.optional(), transport: shortText.optional() },
  detection: { name: shortText.optional(), rule: shortText.optional() },
  /** One installed package from the agent's dpkg/rpm inventory (ECS package.*). */
  software: {
    package: z.looseObject({ name: shortText, version: shortText, architecture: shortText.optional(), type: shortText.optional() }),
  },
  windows_event: { raw: z.looseObject({ Event: z.record(z.string(), z.unknown()) }) },
  syslog: { raw: text.optional() },
  cowrie: { raw: rawRecord },
} satisfies Record<EventCategory, z.ZodRawShape>;

const eventSchema = z.discriminatedUnion(
  'category',
  EVENT_CATEGORIES.map((category) => z.looseObject({ ...commonFields, category: z.literal(category), ...categorySchemas[category] })) as unknown as [
    z.ZodObject<typeof commonFields & { category: z.ZodLiteral<EventCategory> }>,
  ],
);

/** A validated event: the common fields typed, the rest as the agent sent it. */
export type AgentEvent = {
  ts: string;
  category: EventCategory;
  host?: string;
  user?: string;
  ip?: string;
  raw?: unknown;
  source: string;
  severity: number;
  message?: string;
  seq?: number;
} & Record<string, unknown>;

export type EventValidation = { ok: true; event: AgentEvent } | { ok: false; field: string; reason: string };

const CATEGORY_LIST = EVENT_CATEGORIES.join(', ');

/**
 * Validates one event; a failure names the field (dotted path) and why, never the whole batch. The shape
 * bounds come first: nothing below them (zod, the event id's hash, the pipelines) walks a deeper or wider event.
 */
export function validateEvent(value: unknown, limits: EventShapeLimits = DEFAULT_EVENT_SHAPE_LIMITS): EventValidation {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, field: '(event)', reason: 'expected a JSON object' };
  }
  const shape = checkEventShape(value, limits);
  if (!shape.ok) return shape;
  const category = (value as Record<string, unknown>).category;
  if (typeof category !== 'string' || !(EVENT_CATEGORIES as readonly string[]).includes(category)) {
    return { ok: false, field: 'category', reason: category === undefined ? `required; one of ${CATEGORY_LIST}` : `unknown category; expected one of ${CATEGORY_LIST}` };
  }
  const parsed = eventSchema.safeParse(value);
  if (parsed.success) {
    const event = parsed.data as AgentEvent;
    if (event.category === 'syslog' && typeof event.raw !== 'string' && typeof event.message !== 'string') {
      return { ok: false, field: 'raw', reason: 'a syslog event carries its line in raw (or message)' };
    }
    return { ok: true, event };
  }
  const issue = parsed.error.issues[0];
  return { ok: false, field: issue?.path.map(String).join('.') || '(event)', reason: issue?.message ?? 'invalid event' };
}
