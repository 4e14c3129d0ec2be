import { z } from 'zod';
import { describeUrl, FeedError } from '../feeds/http.ts';
import type { RawIndicator } from '../normalize/index.ts';
import { Batcher, type FeedSource, type SourceBatch, type SourceReject } from './types.ts';

function* rowsToBatches(rows: Array<RawIndicator | SourceReject>, size: number, cursor?: string): Iterable<SourceBatch> {
  const batch = new Batcher<RawIndicator>(size);
  for (const r of rows) {
    if ('reason' in r) batch.rejected.push(r);
    else batch.rows.push(r);
    if (batch.full) yield { kind: 'indicators', ...batch.take() };
  }
  yield { kind: 'indicators', ...batch.take(), ...(cursor ? { cursor } : {}) };
}

/** Validates each row with its schema; a bad row becomes a reject naming the field. */
function validateRows<T>(items: unknown[], schema: z.ZodType<T>, toRow: (item: T) => RawIndicator, label: string): Array<RawIndicator | SourceReject> {
  return items.map((item, i) => {
    const parsed = schema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { reason: `${label} ${i}: ${issue?.path.join('.') || 'row'}: ${issue?.message ?? 'invalid'}` };
    }
    return toRow(parsed.data);
  });
}

/** abuse.ch answers errors in query_status with HTTP 200 sometimes: turn them into the same failures. */
function abusechStatus(body: unknown, where: string): string {
  const status = body && typeof body === 'object' ? (body as { query_status?: unknown }).query_status : undefined;
  if (typeof status !== 'string') throw new FeedError('bad_payload', `${where}: answer has no query_status`);
  if (/auth/i.test(status) && status !== 'ok') throw new FeedError('unauthorized', `${where} rejected the Auth-Key (${status})`);
  return status;
}

const urlhausRow = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  url: z.string().min(1),
  url_status: z.string().optional(),
  date_added: z.string().optional(),
  threat: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
  urlhaus_reference: z.string().optional(),
  last_online: z.string().nullish(),
});

/** URLhaus recent URLs API (Auth-Key header). */
export const urlhausSource: FeedSource = async function* (ctx) {
  const where = describeUrl(ctx.feed.url);
  const body = await ctx.http.json(ctx.feed.url);
  const status = abusechStatus(body, where);
  if (status === 'no_results') return yield* rowsToBatches([], ctx.feed.batch_size);
  if (status !== 'ok') throw new FeedError('bad_payload', `${where}: query_status ${status}`);
  const urls = (body as { urls?: unknown }).urls;
  if (!Array.isArray(urls)) throw new FeedError('bad_payload', `${where}: answer has no urls list`);
  yield* rowsToBatches(
    validateRows(urls, urlhausRow, (u) => ({
      value: u.url,
      type: 'url',
      first_seen: u.date_added,
      last_seen: u.last_online ?? u.date_added,
      // An offline URL is still worth knowing about, with less weight.
      confidence: u.url_status === 'offline' ? Math.round(ctx.feed.confidence * 0.6) : undefined,
      description: u.threat ?? undefined,
      reference: u.urlhaus_reference,
      tags: u.tags ?? undefined,
      source_id: u.id,
    }), 'url'),
    ctx.feed.batch_size,
  );
};

const threatfoxRow = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  ioc: z.string().min(1),
  ioc_type: z.string().min(1),
  threat_type: z.string().nullish(),
  malware_printable: z.string().nullish(),
  confidence_level: z.number().min(0).max(100).nullish(),
  first_seen: z.string().nullish(),
  last_seen: z.string().nullish(),
  reference: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
});

/** ThreatFox get_iocs (Auth-Key header); the window in days follows the cursor (1–7). */
export const threatfoxSource: FeedSource = async function* (ctx) {
  const where = describeUrl(ctx.feed.url);
  const since = ctx.cursor ? Date.parse(ctx.cursor) : NaN;
  const days = Number.isNaN(since) ? 7 : Math.min(7, Math.max(1, Math.ceil((ctx.now.getTime() - since) / 86_400_000)));
  const body = await ctx.http.json(ctx.feed.url, { method: 'POST', body: { query: 'get_iocs', days } });
  const status = abusechStatus(body, where);
  if (status === 'no_result' || status === 'no_results') return yield* rowsToBatches([], ctx.feed.batch_size, ctx.now.toISOString());
  if (status !== 'ok') throw new FeedError('bad_payload', `${where}: query_status ${status}`);
  const data = (body as { data?: unknown }).data;
  if (!Array.isArray(data)) throw new FeedError('bad_payload', `${where}: answer has no data list`);
  yield* rowsToBatches(
    validateRows(data, threatfoxRow, (r) => ({
      value: r.ioc,
      type: r.ioc_type,
      confidence: r.confidence_level ?? undefined,
      first_seen: r.first_seen ?? undefined,
      last_seen: r.last_seen ?? r.first_seen ?? undefined,
      description: [r.malware_printable, r.threat_type].filter(Boolean).join(' · ') || undefined,
      reference: r.reference ?? undefined,
      tags: r.tags ?? undefined,
      source_id: r.id,
    }), 'ioc'),
    ctx.feed.batch_size,
    ctx.now.toISOString(),
  );
};

const feodoRow = z.object({
  ip_address: z.string().min(1),
  port: z.number().int().nullish(),
  status: z.string().nullish(),
  first_seen: z.string().nullish(),
  last_online: z.string().nullish(),
  malware: z.string().nullish(),
  as_name: z.string().nullish(),
});

/** Feodo Tracker IP blocklist (JSON; Auth-Key header when configured). */
export const feodoSource: FeedSource = async function* (ctx) {
  const where = describeUrl(ctx.feed.url);
  const body = await ctx.http.json(ctx.feed.url);
  if (!Array.isArray(body)) throw new FeedError('bad_payload', `${where}: expected a JSON array of botnet C2 entries`);
  yield* rowsToBatches(
    validateRows(body, feodoRow, (r) => ({
      value: r.ip_address,
      type: 'ip',
      first_seen: r.first_seen ?? undefined,
      last_seen: r.last_online ?? undefined,
      confidence: r.status === 'offline' ? Math.round(ctx.feed.confidence * 0.6) : undefined,
      description: r.malware ? `${r.malware} C2${r.port ? ` port ${r.port}` : ''}` : undefined,
      tags: r.malware ? [r.malware] : undefined,
    }), 'entry'),
    ctx.feed.batch_size,
  );
};

const abuseipdbRow = z.object({
  ipAddress: z.string().min(1),
  abuseConfidenceScore: z.number().min(0).max(100),
  lastReportedAt: z.string().nullish(),
  countryCode: z.string().nullish(),
});

/** AbuseIPDB blacklist (Key header). Error bodies are {errors:[{detail,status}]}. */
export const abuseipdbSource: FeedSource = async function* (ctx) {
  const where = describeUrl(ctx.feed.url);
  const body = await ctx.http.json(ctx.feed.url, { params: { confidenceMinimum: ctx.feed.abuseipdb.confidence_minimum, limit: ctx.feed.abuseipdb.limit } });
  const errs = (body as { errors?: Array<{ detail?: string }> }).errors;
  if (Array.isArray(errs) && errs.length) throw new FeedError('bad_payload', `${where}: ${String(errs[0]?.detail ?? 'error').slice(0, 200)}`);
  const data = (body as { data?: unknown }).data;
  if (!Array.isArray(data)) throw new FeedError('bad_payload', `${where}: answer has no data list`);
  yield* rowsToBatches(
    validateRows(data, abuseipdbRow, (r) => ({ value: r.ipAddress, type: 'ip', confidence: r.abuseConfidenceScore, last_seen: r.lastReportedAt ?? undefined }), 'entry'),
    ctx.feed.batch_size,
  );
};

const otxIndicator = z.object({
  id: z.union([z.number(), z.string()]).transform(String),
  indicator: z.string().min(1),
  type: z.string().min(1),
  created: z.string().nullish(),
  expiration: z.string().nullish(),
  is_active: z.union([z.number(), z.boolean()]).nullish(),
  title: z.string().nullish(),
  description: z.string().nullish(),
});
const otxPulse = z.object({
  id: z.string(),
  name: z.string().nullish(),
  modified: z.string(),
  tlp: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
  references: z.array(z.string()).nullish(),
  indicators: z.array(z.unknown()),
});
const otxPage = z.object({ results: z.array(z.unknown()), next: z.string().nullish(), count: z.number().optional() });

/** OTX subscribed pulses since the cursor (modified_since), following `next` pages. */
export const otxSource: FeedSource = async function* (ctx) {
  const since = ctx.cursor ?? new Date(ctx.now.getTime() - ctx.feed.otx.initial_days * 86_400_000).toISOString();
  const origin = new URL(ctx.feed.url).origin;
  let url: string | undefined = ctx.feed.url;
  let params: Record<string, string | number> | undefined = { modified_since: since, limit: ctx.feed.otx.limit, page: 1 };
  let newest = since;
  let pages = 0;
  while (url) {
    if (++pages > 1000) throw new FeedError('bad_payload', `${describeUrl(ctx.feed.url)}: more than 1000 pages`);
    const body = otxPage.safeParse(await ctx.http.json(url, params ? { params } : {}));
    if (!body.success) throw new FeedError('bad_payload', `${describeUrl(url)}: not an OTX pulse page (${body.error.issues[0]?.path.join('.')}: ${body.error.issues[0]?.message})`);
    const rows: Array<RawIndicator | SourceReject> = [];
    body.data.results.forEach((p, i) => {
      const pulse = otxPulse.safeParse(p);
      if (!pulse.success) {
        rows.push({ reason: `pulse ${i}: ${pulse.error.issues[0]?.path.join('.')}: ${pulse.error.issues[0]?.message}` });
        return;
      }
      if (pulse.data.modified > newest) newest = pulse.data.modified;
      rows.push(
        ...validateRows(pulse.data.indicators, otxIndicator, (ind) => ({
          value: ind.indicator,
          type: ind.type,
          tlp: pulse.data.tlp ?? undefined,
          first_seen: ind.created ?? undefined,
          last_seen: pulse.data.modified,
          expires_at: ind.expiration ?? undefined,
          revoked: ind.is_active === 0 || ind.is_active === false,
          description: pulse.data.name ?? ind.title ?? undefined,
          reference: pulse.data.references?.[0],
          tags: pulse.data.tags ?? undefined,
          source_id: `${pulse.data.id}:${ind.id}`,
        }), `pulse ${pulse.data.id} indicator`),
      );
    });
    yield* rowsToBatches(rows, ctx.feed.batch_size);
    const next: string | null | undefined = body.data.next;
    // Follow `next` only on the same host: the key must never be sent elsewhere.
    url = next && new URL(next, origin).origin === origin ? new URL(next, origin).toString() : undefined;
    params = undefined;
  }
  // OTX timestamps have no zone: they are UTC.
  yield { kind: 'indicators', rows: [], cursor: newest };
};
