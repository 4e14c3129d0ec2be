import { isIP } from 'node:net';
import type { estypes } from '@elastic/elasticsearch';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';

/**
 * `nyx hunt` filters → one Elasticsearch query over the logs-* data streams. Every filter is a
 * structured query (term/range on ECS fields); free text goes through simple_query_string, which
 * never throws on user syntax and cannot run scripts, so nothing typed here reaches a parser that
 * could misread it.
 */

const DURATION = /^(\d+)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Level names on ECS's event.severity scale (as Elastic's detection rules use it). */
const SEVERITY_LEVELS: Record<string, number> = { low: 21, medium: 47, high: 73, critical: 99 };

export const huntQuerySchema = z.strictObject({
  from: z.string().optional(),
  to: z.string().optional(),
  /** An age such as 24h: from = now − age. Ignored when `from` is given. */
  since: z.string().optional(),
  ip: z.string().optional(),
  user: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  /** Minimum event.severity: a number or low | medium | high | critical. */
  severity: z.union([z.number(), z.string()]).optional(),
  category: z.string().min(1).optional(),
  text: z.string().optional(),
  namespace: z.string().regex(/^[a-z0-9_]{1,100}$/, 'expected a data-stream namespace (lowercase letters, digits, _)').optional(),
  size: z.number().int().positive().max(10_000).optional(),
});
export type HuntQuery = z.infer<typeof huntQuerySchema>;

export interface CompiledHunt {
  index: string;
  query: estypes.QueryDslQueryContainer;
  from: string;
  to: string;
}

/** Fields free text is searched in (text and keyword fields; `lenient` skips type mismatches). */
export const TEXT_FIELDS = ['message', 'event.original', 'process.command_line', 'process.executable', 'process.name', 'file.path', 'url.full', 'dns.question.name', 'user.name', 'host.name', 'event.action', 'rule.name'];
const IP_FIELDS = ['source.ip', 'destination.ip', 'host.ip', 'client.ip', 'server.ip', 'related.ip'];
const USER_FIELDS = ['user.name', 'user.target.name', 'user.effective.name', 'related.user'];
const HOST_FIELDS = ['host.name', 'host.hostname', 'observer.hostname'];

export function timeOf(text: string, now: number, flag: string): number {
  const age = DURATION.exec(text);
  if (age) return now - Number(age[1]) * UNIT_MS[age[2]!]!;
  if (text === 'now') return now;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new NyxError(`${flag} ${text}: expected an ISO time, 'now', or an age such as 15m, 24h, 7d`);
  return t;
}

/** An IP address or a CIDR (ip fields accept both in a term query). */
export function checkIp(value: string): string {
  const [addr, prefix, extra] = value.split('/');
  const version = isIP(addr ?? '');
  const max = version === 4 ? 32 : 128;
  if (!version || extra !== undefined || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= max))) {
    throw new NyxError(`--ip ${value}: expected an IPv4/IPv6 address or CIDR such as 203.0.113.7 or 10.0.0.0/8`);
  }
  return value;
}

function severityMin(value: number | string): number {
  if (typeof value === 'number') return value;
  const named = SEVERITY_LEVELS[value.toLowerCase()];
  if (named !== undefined) return named;
  const n = Number(value);
  if (value.trim() !== '' && Number.isFinite(n)) return n;
  throw new NyxError(`--severity ${value}: expected a number or one of ${Object.keys(SEVERITY_LEVELS).join(', ')}`);
}

function anyOf(fields: string[], value: string, caseInsensitive: boolean): estypes.QueryDslQueryContainer {
  return { bool: { should: fields.map((f) => ({ term: { [f]: caseInsensitive ? { value, case_insensitive: true } : { value } } })), minimum_should_match: 1 } };
}

export function logsIndex(namespace: string | undefined): string {
  return namespace ? `logs-*-${namespace}` : 'logs-*';
}

export function timeRange(q: Pick<HuntQuery, 'from' | 'to' | 'since'>, now: number, defaultSince = '24h'): { from: number; to: number } {
  const from = q.from !== undefined ? timeOf(q.from, now, '--from') : timeOf(q.since ?? defaultSince, now, '--since');
  const to = q.to !== undefined ? timeOf(q.to, now, '--to') : now;
  if (from > to) throw new NyxError(`the time range is empty: ${new Date(from).toISOString()} is after ${new Date(to).toISOString()}`);
  return { from, to };
}

export function compileHunt(input: HuntQuery, now = Date.now()): CompiledHunt {
  const parsed = huntQuerySchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new NyxError(`hunt: '${issue.path.join('.')}': ${issue.message}`);
  }
  const q = parsed.data;
  const { from, to } = timeRange(q, now);
  const filter: estypes.QueryDslQueryContainer[] = [{ range: { '@timestamp': { gte: new Date(from).toISOString(), lte: new Date(to).toISOString(), format: 'strict_date_optional_time' } } }];
  if (q.ip !== undefined) filter.push(anyOf(IP_FIELDS, checkIp(q.ip), false));
  if (q.user !== undefined) filter.push(anyOf(USER_FIELDS, q.user, true));
  if (q.host !== undefined) filter.push(anyOf(HOST_FIELDS, q.host, true));
  if (q.category !== undefined) filter.push({ term: { 'event.category': { value: q.category, case_insensitive: true } } });
  if (q.severity !== undefined) filter.push({ range: { 'event.severity': { gte: severityMin(q.severity) } } });
  const must: estypes.QueryDslQueryContainer[] = [];
  if (q.text !== undefined && q.text.trim() !== '') {
    must.push({ simple_query_string: { query: q.text, fields: TEXT_FIELDS, default_operator: 'and', lenient: true, flags: 'AND|OR|NOT|PHRASE|PREFIX|WHITESPACE|ESCAPE|PRECEDENCE' } });
  }
  return { index: logsIndex(q.namespace), query: { bool: { filter, ...(must.length ? { must } : {}) } }, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}
