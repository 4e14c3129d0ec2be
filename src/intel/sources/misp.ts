import { z } from 'zod';
import { describeUrl, FeedError } from '../feeds/http.ts';
import { MispClient, mispTlp, type MispAttribute } from '../misp/client.ts';
import type { RawIndicator } from '../normalize/index.ts';
import type { FeedSource, SourceBatch } from './types.ts';

function attributeRow(a: MispAttribute, base: string, opts: { decay: boolean; tlp?: string | undefined; toIdsOnly: boolean }): RawIndicator {
  const decay = opts.decay ? a.decay_score?.[0] : undefined;
  return {
    value: a.value,
    type: a.type,
    tlp: mispTlp(a) ?? opts.tlp,
    confidence: decay ? Math.round(decay.score * 10) / 10 : undefined,
    first_seen: a.first_seen ?? undefined,
    last_seen: a.last_seen ?? a.timestamp,
    // A decayed attribute, a deleted one, or one no longer flagged for IDS leaves the active set.
    ...(decay?.decayed ? { expires_at: new Date(Number(a.timestamp) * 1000).toISOString() } : {}),
    revoked: a.deleted === true || (opts.toIdsOnly && !a.to_ids),
    description: a.Event?.info ?? a.comment ?? undefined,
    reference: `${base}/events/view/${a.event_id}`,
    tags: [...(a.Tag ?? []), ...(a.Event?.Tag ?? [])].map((t) => t.name).filter((n) => !/^tlp:/i.test(n)),
    source_id: a.uuid ?? a.id,
  };
}

/**
 * MISP restSearch by attribute timestamp: pages of `page_limit` until a short page, first live
 * attributes then deleted ones (so deletions revoke). The cursor (newest attribute timestamp) is
 * stored only after every page of both passes is stored, so a failure never skips data.
 */
export const mispSource: FeedSource = async function* (ctx) {
  if (!ctx.secret) throw new FeedError('missing_secret', `feed ${ctx.feed.name}: MISP needs an API key (auth.env)`);
  const base = ctx.feed.url.replace(/\/+$/, '');
  const client = new MispClient({
    url: base,
    apiKey: ctx.secret,
    timeoutMs: ctx.feed.limits.timeout_ms,
    maxBytes: ctx.feed.limits.max_bytes,
    retries: ctx.feed.limits.retries,
    maxRetryAfterS: ctx.feed.limits.max_retry_after_s,
    ...(ctx.feed.auth?.env ? { authEnv: ctx.feed.auth.env } : {}),
  });
  const m = ctx.feed.misp;
  const from = ctx.cursor ? Number(ctx.cursor) : Math.max(0, Math.floor(ctx.now.getTime() / 1000) - m.initial_days * 86_400);
  let newest = from;
  for (const deleted of m.include_deleted ? [false, true] : [false]) {
    for (let page = 1; page <= m.max_pages; page++) {
      const res = await client.searchAttributes({ timestamp: from, page, limit: m.page_limit, toIdsOnly: m.to_ids_only, deleted, includeDecayScore: m.decay });
      const rows = res.attributes.map((a) => {
        newest = Math.max(newest, Number(a.timestamp));
        return attributeRow(a, base, { decay: m.decay, toIdsOnly: m.to_ids_only, tlp: undefined });
      });
      ctx.progress(`  ${deleted ? 'deleted' : 'live'} attributes page ${page}: ${res.rawCount}`);
      yield { kind: 'indicators', rows, rejected: res.rejected.map((reason) => ({ reason })) } satisfies SourceBatch;
      if (res.rawCount < m.page_limit) break;
    }
  }
  yield { kind: 'indicators', rows: [], cursor: String(newest) };
};

const manifestEntry = z.object({ timestamp: z.union([z.string().regex(/^\d+$/), z.number()]).transform(Number), info: z.string().optional() }).passthrough();
const feedEvent = z.object({
  Event: z
    .object({
      uuid: z.string().optional(),
      info: z.string().optional(),
      timestamp: z.union([z.string(), z.number()]).optional(),
      Tag: z.array(z.object({ name: z.string() }).passthrough()).optional(),
      Attribute: z.array(z.unknown()).optional(),
      Object: z.array(z.object({ Attribute: z.array(z.unknown()).optional() }).passthrough()).optional(),
    })
    .passthrough(),
});
const feedAttribute = z
  .object({
    type: z.string(),
    value: z.string(),
    to_ids: z.boolean().optional(),
    uuid: z.string().optional(),
    timestamp: z.union([z.string(), z.number()]).optional(),
    deleted: z.boolean().optional(),
    comment: z.string().nullish(),
    first_seen: z.string().nullish(),
    last_seen: z.string().nullish(),
    Tag: z.array(z.object({ name: z.string() }).passthrough()).optional(),
  })
  .passthrough();

/**
 * MISP feed format: manifest.json lists events by uuid with their timestamps; each changed event
 * (timestamp after the cursor) is fetched from <base>/<uuid>.json, oldest first. The cursor moves to an
 * event's timestamp only once every event up to it is stored.
 */
export const mispFeedSource: FeedSource = async function* (ctx) {
  const base = ctx.feed.url.replace(/\/manifest\.json$/, '').replace(/\/+$/, '');
  const manifestUrl = `${base}/manifest.json`;
  const manifest = await ctx.http.json(manifestUrl);
  if (!manifest || typeof manifest !== 'object' || Array.isArray(manifest)) throw new FeedError('bad_payload', `${describeUrl(manifestUrl)}: expected an object of events by uuid`);
  const after = ctx.cursor ? Number(ctx.cursor) : 0;
  const events: Array<{ uuid: string; timestamp: number }> = [];
  const rejectedManifest: string[] = [];
  for (const [uuid, entry] of Object.entries(manifest as Record<string, unknown>)) {
    const e = manifestEntry.safeParse(entry);
    if (!e.success || !/^[0-9a-f-]{36}$/i.test(uuid)) rejectedManifest.push(`manifest entry ${uuid.slice(0, 40)}: not an event entry`);
    else if (e.data.timestamp > after) events.push({ uuid, timestamp: e.data.timestamp });
  }
  events.sort((a, b) => a.timestamp - b.timestamp);
  ctx.progress(`  manifest: ${events.length} changed events`);
  if (rejectedManifest.length) yield { kind: 'indicators', rows: [], rejected: rejectedManifest.map((reason) => ({ reason })) };
  for (let i = 0; i < events.length; i++) {
    const ev = events[i] as { uuid: string; timestamp: number };
    const parsed = feedEvent.safeParse(await ctx.http.json(`${base}/${ev.uuid}.json`));
    const next = events[i + 1];
    const cursor = !next || next.timestamp > ev.timestamp ? String(ev.timestamp) : undefined;
    if (!parsed.success) {
      yield { kind: 'indicators', rows: [], rejected: [{ reason: `event ${ev.uuid}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` }], ...(cursor ? { cursor } : {}) };
      continue;
    }
    const event = parsed.data.Event;
    const eventTlp = event.Tag?.map((t) => /^tlp:(.+)$/i.exec(t.name)?.[1]).find(Boolean);
    const rows: RawIndicator[] = [];
    const rejected: Array<{ reason: string }> = [];
    const attrs = [...(event.Attribute ?? []), ...(event.Object ?? []).flatMap((o) => o.Attribute ?? [])];
    attrs.forEach((raw, n) => {
      const a = feedAttribute.safeParse(raw);
      if (!a.success) {
        rejected.push({ reason: `event ${ev.uuid} attribute ${n}: ${a.error.issues[0]?.path.join('.')}: ${a.error.issues[0]?.message}` });
        return;
      }
      if (ctx.feed.misp.to_ids_only && a.data.to_ids === false) return;
      rows.push({
        value: a.data.value,
        type: a.data.type,
        tlp: a.data.Tag?.map((t) => /^tlp:(.+)$/i.exec(t.name)?.[1]).find(Boolean) ?? eventTlp,
        first_seen: a.data.first_seen ?? undefined,
        last_seen: a.data.last_seen ?? a.data.timestamp ?? ev.timestamp,
        revoked: a.data.deleted === true,
        description: event.info,
        source_id: a.data.uuid,
      });
    });
    yield { kind: 'indicators', rows, rejected, ...(cursor ? { cursor } : {}) };
  }
};
