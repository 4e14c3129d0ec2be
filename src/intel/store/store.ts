import { createHash } from 'node:crypto';
import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import { fuseIndicator, isFeedDocActive, materialSignature } from './fusion.ts';
import { confidenceText, indicatorKey, type FeedIndicator, type FeedIndicatorDoc, type IndicatorValueFields, type LatestIndicator } from './types.ts';

/**
 * Storage choice: per-feed documents live in a plain index per feed, `logs-ti_nyx.<feed>-<namespace>`
 * (an index template without `data_stream`, so Kibana's logs-* view and Elastic's indicator-match rules
 * still see them), because data-stream documents cannot be updated by id and a re-sync must update, not
 * duplicate. The merged view is `nyx-ti-latest-<namespace>`, one document per type:value.
 */
export const indicatorIndexNames = {
  feed: (feed: string, namespace: string) => `logs-ti_nyx.${feed}-${namespace}`,
  feedPattern: (namespace: string) => `logs-ti_nyx.*-${namespace}`,
  latest: (namespace: string) => `nyx-ti-latest-${namespace}`,
};

export function indicatorDocId(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface UpsertResult {
  added: number;
  updated: number;
  unchanged: number;
  /** Rows Elasticsearch refused, with its reason. */
  failed: Array<{ key: string; reason: string }>;
}

export interface ExpireResult {
  /** Latest-view indicators that left the active set. */
  expired: number;
  /** Per-feed reports that expired, by feed. */
  byFeed: Record<string, number>;
}

export interface ActiveIndicatorsOptions {
  /**
   * Only indicators whose matcher-relevant fields changed after this instant — including ones that
   * became inactive (active: false), so an incremental reader can drop them. Without it: the active set.
   */
  since?: string | Date;
  /** Resume after the indicator this cursor names (from `cursorOf`). */
  afterCursor?: string;
  pageSize?: number;
}

const GET_CHUNK = 500;

export class IndicatorStore {
  readonly latestIndex: string;

  constructor(
    private readonly client: Client,
    readonly namespace: string,
  ) {
    this.latestIndex = indicatorIndexNames.latest(namespace);
  }

  feedIndex(feed: string): string {
    return indicatorIndexNames.feed(feed, this.namespace);
  }

  /**
   * Stores feed reports (stable id per feed and type:value, so a re-sync updates) and re-fuses the
   * latest view for every key touched. first_seen survives updates unless the feed states one.
   */
  async upsert(indicators: FeedIndicator[], now: Date = new Date()): Promise<UpsertResult> {
    const result: UpsertResult = { added: 0, updated: 0, unchanged: 0, failed: [] };
    if (!indicators.length) return result;
    // The last report of a key in one batch wins (a feed listing a value twice is one indicator).
    const byId = new Map<string, FeedIndicator>();
    for (const ind of indicators) byId.set(`${ind.feed}\u0000${indicatorKey(ind.type, ind.value)}`, ind);
    const operations: unknown[] = [];
    const order: string[] = [];
    for (const ind of byId.values()) {
      const doc = toFeedDoc(ind, this.namespace, now);
      const { first_seen, ...indicatorWithoutFirst } = doc.threat.indicator;
      const partial = ind.first_seen ? doc : { ...doc, threat: { indicator: indicatorWithoutFirst } };
      const upsertDoc = first_seen ? doc : { ...doc, threat: { indicator: { ...doc.threat.indicator, first_seen: doc.threat.indicator.last_seen } } };
      operations.push({ update: { _index: this.feedIndex(ind.feed), _id: indicatorDocId(doc.nyx.indicator.key) } }, { doc: partial, upsert: upsertDoc });
      order.push(doc.nyx.indicator.key);
    }
    const res = await this.client.bulk({ operations, refresh: false });
    const touched = new Set<string>();
    res.items.forEach((item, i) => {
      const r = item.update;
      const key = order[i] as string;
      if (!r || r.error) {
        result.failed.push({ key, reason: r?.error?.reason ?? r?.error?.type ?? 'unknown bulk error' });
        return;
      }
      touched.add(key);
      if (r.result === 'created') result.added++;
      else if (r.result === 'noop') result.unchanged++;
      else result.updated++;
    });
    await this.fuse([...touched], now);
    return result;
  }

  /** Recomputes the latest-view documents of these keys from every feed's report (realtime gets, no refresh needed). */
  async fuse(keys: string[], now: Date = new Date()): Promise<number> {
    const unique = [...new Set(keys)];
    if (!unique.length) return 0;
    const feedIndices = await this.feedIndices();
    let changed = 0;
    for (let i = 0; i < unique.length; i += GET_CHUNK) {
      const chunk = unique.slice(i, i + GET_CHUNK);
      const reports = new Map<string, FeedIndicatorDoc[]>();
      if (feedIndices.length) {
        const docs = chunk.flatMap((key) => feedIndices.map((index) => ({ _index: index, _id: indicatorDocId(key) })));
        const got = await this.client.mget<FeedIndicatorDoc>({ docs });
        for (const d of got.docs) {
          if (!('found' in d) || !d.found || !d._source) continue;
          const key = d._source.nyx.indicator.key;
          const list = reports.get(key) ?? [];
          list.push(d._source);
          reports.set(key, list);
        }
      }
      const current = await this.client.mget<LatestIndicator>({ index: this.latestIndex, ids: chunk.map(indicatorDocId) }).catch((err: unknown) => {
        if (err instanceof errors.ResponseError && err.statusCode === 404) return { docs: [] };
        throw err;
      });
      const existing = new Map<string, LatestIndicator>();
      for (const d of current.docs) if ('found' in d && d.found && d._source) existing.set(d._source.nyx.indicator.key, d._source);
      const operations: unknown[] = [];
      // modified_at is wall-clock time of the change (incremental readers compare with their clock); `now` only decides expiry.
      const stamp = new Date().toISOString();
      for (const key of chunk) {
        const docs = reports.get(key);
        if (!docs?.length) continue;
        let fused = fuseIndicator(docs, now.getTime(), stamp);
        const before = existing.get(key);
        if (before && materialSignature(before) === materialSignature(fused)) {
          // Nothing a matcher uses changed: keep modified_at so incremental readers are not flooded.
          fused = fuseIndicator(docs, now.getTime(), before.threat.indicator.modified_at);
          if (JSON.stringify(before) === JSON.stringify(fused)) continue;
        } else changed++;
        operations.push({ index: { _index: this.latestIndex, _id: indicatorDocId(key) } }, fused);
      }
      if (operations.length) {
        const res = await this.client.bulk({ operations, refresh: false });
        if (res.errors) {
          const first = res.items.find((it) => it.index?.error)?.index?.error;
          throw new Error(`latest view write failed: ${first?.reason ?? first?.type ?? 'unknown'}`);
        }
      }
    }
    return changed;
  }

  /**
   * The active set, or (with `since`/`afterCursor`) every indicator whose matcher-relevant fields changed
   * since then, inactive ones included, ordered by modified_at then key. Consumers should start `since`
   * a few seconds before their last read: the view is refreshed about once a second.
   */
  async *activeIndicators(options: ActiveIndicatorsOptions = {}): AsyncIterable<LatestIndicator> {
    const size = Math.min(Math.max(options.pageSize ?? 1000, 1), 10_000);
    const filter: estypes.QueryDslQueryContainer[] = [];
    const incremental = options.since !== undefined || options.afterCursor !== undefined;
    if (options.since !== undefined) {
      filter.push({ range: { 'threat.indicator.modified_at': { gte: new Date(options.since).toISOString() } } });
    }
    if (!incremental) filter.push({ term: { 'nyx.indicator.active': true } });
    let after: Array<number | string> | undefined = options.afterCursor ? parseCursor(options.afterCursor) : undefined;
    for (;;) {
      let res;
      try {
        res = await this.client.search<LatestIndicator>({
          index: this.latestIndex,
          size,
          query: { bool: { filter } },
          sort: [{ 'threat.indicator.modified_at': 'asc' }, { 'nyx.indicator.key': 'asc' }],
          ...(after ? { search_after: after } : {}),
          track_total_hits: false,
        });
      } catch (err) {
        if (err instanceof errors.ResponseError && err.statusCode === 404) return;
        throw err;
      }
      const hits = res.hits.hits;
      for (const hit of hits) if (hit._source) yield hit._source;
      if (hits.length < size) return;
      after = hits.at(-1)?.sort as Array<number | string>;
    }
  }

  /** An opaque resume point after this indicator, for `activeIndicators({ afterCursor })`. */
  cursorOf(indicator: LatestIndicator): string {
    return `${Date.parse(indicator.threat.indicator.modified_at)}|${indicator.nyx.indicator.key}`;
  }

  /** One latest-view indicator by type:value key. */
  async get(key: string): Promise<LatestIndicator | undefined> {
    try {
      const res = await this.client.get<LatestIndicator>({ index: this.latestIndex, id: indicatorDocId(key) });
      return res._source;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** Per-feed reports whose expiry passed (of one feed, or all) leave the active set; the latest view is re-fused for them. */
  async expire(now: Date = new Date(), options: { feed?: string } = {}): Promise<ExpireResult> {
    const result: ExpireResult = { expired: 0, byFeed: {} };
    const keys = new Set<string>();
    const stamp = now.toISOString();
    // Expiry searches: the latest writes must be visible to them.
    await this.client.indices.refresh({ index: options.feed ? this.feedIndex(options.feed) : indicatorIndexNames.feedPattern(this.namespace), ignore_unavailable: true, allow_no_indices: true });
    for (;;) {
      let res;
      try {
        res = await this.client.search<FeedIndicatorDoc>({
          index: options.feed ? this.feedIndex(options.feed) : indicatorIndexNames.feedPattern(this.namespace),
          size: 1000,
          query: { bool: { filter: [{ term: { 'nyx.indicator.active': true } }, { range: { 'nyx.indicator.expires_at': { lte: stamp } } }] } },
          _source: ['nyx.indicator.key', 'nyx.indicator.feed'],
          ignore_unavailable: true,
          allow_no_indices: true,
        });
      } catch (err) {
        if (err instanceof errors.ResponseError && err.statusCode === 404) break;
        throw err;
      }
      const hits = res.hits.hits;
      if (!hits.length) break;
      const operations: unknown[] = [];
      for (const h of hits) {
        const n = h._source?.nyx.indicator;
        if (!n) continue;
        keys.add(n.key);
        result.byFeed[n.feed] = (result.byFeed[n.feed] ?? 0) + 1;
        operations.push({ update: { _index: h._index, _id: h._id } }, { doc: { nyx: { indicator: { active: false } } } });
      }
      await this.client.bulk({ operations, refresh: true });
      if (hits.length < 1000) break;
    }
    const before = await this.activeKeys([...keys]);
    await this.fuse([...keys], now);
    const after = await this.activeKeys([...keys]);
    for (const k of before) if (!after.has(k)) result.expired++;
    return result;
  }

  /** Makes recent writes visible to searches (tests, CLI summaries). */
  async refresh(): Promise<void> {
    await this.client.indices.refresh({ index: [this.latestIndex, indicatorIndexNames.feedPattern(this.namespace)], ignore_unavailable: true, allow_no_indices: true });
  }

  /** Counts in the latest view: total, active. */
  async counts(): Promise<{ total: number; active: number }> {
    try {
      const total = await this.client.count({ index: this.latestIndex });
      const active = await this.client.count({ index: this.latestIndex, query: { term: { 'nyx.indicator.active': true } } });
      return { total: total.count, active: active.count };
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return { total: 0, active: 0 };
      throw err;
    }
  }

  private async activeKeys(keys: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < keys.length; i += GET_CHUNK) {
      const chunk = keys.slice(i, i + GET_CHUNK);
      const got = await this.client.mget<LatestIndicator>({ index: this.latestIndex, ids: chunk.map(indicatorDocId) }).catch(() => ({ docs: [] }));
      for (const d of got.docs) if ('found' in d && d.found && d._source?.nyx.indicator.active) out.add(d._source.nyx.indicator.key);
    }
    return out;
  }

  private async feedIndices(): Promise<string[]> {
    try {
      const res = await this.client.indices.get({ index: indicatorIndexNames.feedPattern(this.namespace), allow_no_indices: true, ignore_unavailable: true });
      return Object.keys(res);
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
  }
}

function parseCursor(cursor: string): [number, string] {
  const at = cursor.indexOf('|');
  const millis = Number(cursor.slice(0, at));
  if (at < 0 || !Number.isFinite(millis)) throw new Error(`not an indicator cursor: ${cursor.slice(0, 40)}`);
  return [millis, cursor.slice(at + 1)];
}

function valueFields(ind: FeedIndicator): IndicatorValueFields {
  switch (ind.type) {
    case 'ipv4-addr':
    case 'ipv6-addr':
      return ind.cidr ? {} : { ip: ind.value };
    case 'domain-name':
      return { domain: ind.value };
    case 'url':
      return { url: { full: ind.value } };
    case 'file':
      return { file: { hash: { [ind.hash ?? 'sha256']: ind.value } } };
    case 'email-addr':
      return { email: { address: ind.value } };
  }
}

const DAY_MS = 86_400_000;

export function toFeedDoc(ind: FeedIndicator, namespace: string, now: Date): FeedIndicatorDoc {
  const key = indicatorKey(ind.type, ind.value);
  const lastSeen = ind.last_seen ?? now.toISOString();
  const expiresAt = ind.expires_at ?? new Date(Date.parse(lastSeen) + 30 * DAY_MS).toISOString();
  const doc: FeedIndicatorDoc = {
    '@timestamp': lastSeen,
    event: { kind: 'enrichment', category: ['threat'], type: ['indicator'], dataset: `ti_nyx.${ind.feed}` },
    data_stream: { type: 'logs', dataset: `ti_nyx.${ind.feed}`, namespace },
    threat: {
      indicator: {
        ...valueFields(ind),
        type: ind.type,
        provider: ind.provider,
        confidence: confidenceText(ind.confidence),
        ...(ind.first_seen ? { first_seen: ind.first_seen } : {}),
        last_seen: lastSeen,
        modified_at: new Date().toISOString(),
        ...(ind.tlp ? { marking: { tlp: ind.tlp } } : {}),
        ...(ind.description ? { description: ind.description } : {}),
        ...(ind.reference ? { reference: ind.reference } : {}),
      },
    },
    nyx: {
      indicator: {
        key,
        value: ind.value,
        ...(ind.hash ? { hash: ind.hash } : {}),
        feed: ind.feed,
        confidence_score: ind.confidence,
        ...(ind.decay_half_life_days ? { decay_half_life_days: ind.decay_half_life_days } : {}),
        expires_at: expiresAt,
        active: !ind.revoked && Date.parse(expiresAt) > now.getTime(),
        revoked: ind.revoked ?? false,
        ...(ind.cidr ? { cidr: ind.value } : {}),
        ...(ind.tags?.length ? { tags: ind.tags } : {}),
        ...(ind.source_id ? { source_id: ind.source_id } : {}),
      },
    },
  };
  return doc;
}

export { isFeedDocActive };
