import { readEnvSecret } from '../../config/index.ts';
import { hostname } from 'node:os';
import type { Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import type { NyxConfig } from '../../config/index.ts';
import { LeaseStore, StateStore } from '../../coordination/index.ts';
import { getLogger } from '../../log/logger.ts';
import { AdvisoryStore, CveStore } from '../cves/index.ts';
import { normalizeIndicator, type WarningLists } from '../normalize/index.ts';
import { AUTH_HEADERS, FEED_SOURCES } from '../sources/index.ts';
import type { SourceBatch } from '../sources/index.ts';
import { IndicatorStore, type FeedIndicator } from '../store/index.ts';
import { DEFAULT_PROVIDERS, type FeedDefinition } from './definitions.ts';
import { FeedError, FeedHttp } from './http.ts';

const countsSchema = z.object({
  added: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  expired: z.number(),
  rejected: z.number(),
  skipped: z.number(),
});
export type FeedCounts = z.infer<typeof countsSchema>;
const zeroCounts = (): FeedCounts => ({ added: 0, updated: 0, unchanged: 0, expired: 0, rejected: 0, skipped: 0 });

/** What `nyx feeds status` shows for one feed; kept in the StateStore (nyx-state) under feed:<namespace>:<name>. */
export const feedStateSchema = z.object({
  feed: z.string(),
  kind: z.string(),
  result: z.enum(['running', 'ok', 'error', 'never']),
  failure: z.string().optional(),
  last_error: z.string().optional(),
  last_run_at: z.string().optional(),
  last_finished_at: z.string().optional(),
  last_success_at: z.string().optional(),
  cursor: z.string().optional(),
  counts: countsSchema,
  totals: countsSchema,
  rejected_samples: z.array(z.string()),
  duration_ms: z.number().optional(),
  holder: z.string().optional(),
});
export type FeedState = z.infer<typeof feedStateSchema>;

export interface FeedRunResult {
  feed: string;
  result: 'ok' | 'error' | 'skipped';
  counts: FeedCounts;
  cursor?: string;
  error?: string;
  failure?: string;
  /** Why the run was skipped (lease held elsewhere, disabled). */
  reason?: string;
  /** The first reasons rows were rejected for (all of them, up to 20, in `nyx feeds status`). */
  rejected_samples?: string[];
}

/** Everything a feed run needs; one per process (or per test). */
export interface FeedRuntime {
  client: Client;
  namespace: string;
  intel: NyxConfig['intel'];
  warnings: WarningLists;
  env: NodeJS.ProcessEnv;
  /** This replica's identity for leases. */
  holder?: string;
  progress?: (line: string) => void;
  /** Index overrides (tests use their own; CVEs and advisories are otherwise shared by all namespaces). */
  cveIndex?: string;
  advisoryIndex?: string;
}

export function feedStateKey(namespace: string, feed: string): string {
  return `feed:${namespace}:${feed}`;
}

export function feedLeaseName(namespace: string, feed: string): string {
  return `feed:${namespace}:${feed}`;
}

export async function readFeedState(client: Client, namespace: string, feed: string): Promise<FeedState | undefined> {
  return new StateStore(client).get(feedStateKey(namespace, feed), feedStateSchema);
}

/** The one secret reader (env or NAME_FILE), its failure reported as this feed's missing secret. */
function readSecret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  try {
    return readEnvSecret(env, name);
  } catch {
    throw new FeedError('missing_secret', `${name}_FILE: cannot read the file it names`);
  }
}

const MAX_SAMPLES = 20;
/** Rejection reasons a run's one-line report shows. */
const REPORTED_SAMPLES = 2;

/**
 * Runs one feed now: takes its lease (so no two replicas sync it at once), reads the source batch by
 * batch, validates every row, stores the good ones, counts and samples the bad ones, and moves the
 * cursor only after the batch that carries it is stored. A failing source ends this feed's run with
 * the reason in its status; it never throws.
 */
export async function syncFeed(rt: FeedRuntime, feed: FeedDefinition, now: Date = new Date()): Promise<FeedRunResult> {
  const log = getLogger('intel.feeds');
  const holder = rt.holder ?? `${hostname()}:${process.pid}`;
  const leases = new LeaseStore(rt.client, holder);
  const leaseName = feedLeaseName(rt.namespace, feed.name);
  const ttl = rt.intel.lease_ttl_ms;
  const counts = zeroCounts();
  if (!feed.enabled) return { feed: feed.name, result: 'skipped', counts, reason: 'disabled' };
  const lease = await leases.acquire(leaseName, ttl);
  if (!lease) {
    const other = await leases.holderOf(leaseName);
    return { feed: feed.name, result: 'skipped', counts, reason: `another replica is syncing it${other ? ` (${other})` : ''}` };
  }
  let lost = false;
  const renew = setInterval(() => {
    leases.acquire(leaseName, ttl).then(
      (l) => {
        if (!l) lost = true;
      },
      (err: Error) => log.warn({ err }, `feed ${feed.name}: lease renewal failed`),
    );
  }, Math.max(1000, Math.floor(ttl / 3)));
  renew.unref();

  const stateStore = new StateStore(rt.client);
  const stateKey = feedStateKey(rt.namespace, feed.name);
  const previous = await stateStore.get(stateKey, feedStateSchema);
  const state: FeedState = {
    feed: feed.name,
    kind: feed.kind,
    result: 'running',
    last_run_at: now.toISOString(),
    counts,
    totals: previous?.totals ?? zeroCounts(),
    rejected_samples: [],
    holder,
    ...(previous?.cursor ? { cursor: previous.cursor } : {}),
    ...(previous?.last_success_at ? { last_success_at: previous.last_success_at } : {}),
  };
  const started = Date.now();
  const progress = rt.progress ?? (() => {});
  const store = new IndicatorStore(rt.client, rt.namespace);
  const cves = new CveStore(rt.client, rt.cveIndex);
  const advisories = new AdvisoryStore(rt.client, rt.advisoryIndex);
  const reject = (reason: string, kind: 'rejected' | 'skipped' = 'rejected') => {
    counts[kind]++;
    if (kind === 'rejected' && state.rejected_samples.length < MAX_SAMPLES) state.rejected_samples.push(reason.slice(0, 300));
  };
  try {
    await stateStore.put(stateKey, 'feed', state);
    let secret: string | undefined;
    if (feed.auth) {
      secret = readSecret(rt.env, feed.auth.env);
      if (!secret && !feed.auth.optional) throw new FeedError('missing_secret', `feed ${feed.name} needs its key: set ${feed.auth.env} (or ${feed.auth.env}_FILE)`);
    }
    const header = feed.auth?.header ?? AUTH_HEADERS[feed.kind];
    const http = new FeedHttp({
      maxBytes: feed.limits.max_bytes,
      timeoutMs: feed.limits.timeout_ms,
      retries: feed.limits.retries,
      maxRetryAfterS: feed.limits.max_retry_after_s,
      headers: secret && feed.kind !== 'misp' ? { [header]: feed.auth?.scheme ? `${feed.auth.scheme} ${secret}` : secret } : {},
      ...(feed.auth ? { authEnv: feed.auth.env } : {}),
      onWait: (s, why) => progress(`  ${why}: waiting ${s}s`),
    });
    const defaults = {
      feed: feed.name,
      provider: feed.provider ?? DEFAULT_PROVIDERS[feed.kind],
      confidence: feed.confidence,
      tlp: feed.tlp,
      expiryDays: feed.expiry_days,
      allowTlpRed: feed.allow_tlp_red ?? rt.intel.allow_tlp_red,
      maxPrefix: feed.allow_broad_ranges ? { ipv4: 0, ipv6: 0 } : { ipv4: feed.max_prefix?.ipv4 ?? rt.intel.max_prefix.ipv4, ipv6: feed.max_prefix?.ipv6 ?? rt.intel.max_prefix.ipv6 },
      ...(feed.decay_half_life_days ? { decayHalfLifeDays: feed.decay_half_life_days } : {}),
    };
    const source = FEED_SOURCES[feed.kind]({ feed, http, ...(secret ? { secret } : {}), ...(state.cursor ? { cursor: state.cursor } : {}), now, progress });
    let batches = 0;
    for await (const batch of source) {
      if (lost) throw new FeedError('http_error', `feed ${feed.name}: lost its lease to another replica; stopping`);
      await storeBatch(batch, { store, cves, advisories, defaults, warnings: rt.warnings, counts, reject, now });
      batches++;
      if (batch.cursor !== undefined) {
        state.cursor = batch.cursor;
        await stateStore.put(stateKey, 'feed', state);
      }
      if (batches % 10 === 0) progress(`  ${feed.name}: +${counts.added} ~${counts.updated} =${counts.unchanged} rejected ${counts.rejected}`);
    }
    if (feed.kind !== 'nvd' && feed.kind !== 'nvd_files' && feed.kind !== 'cisa_kev' && feed.kind !== 'rss') {
      const expired = await store.expire(now, { feed: feed.name });
      counts.expired += expired.byFeed[feed.name] ?? 0;
    }
    state.result = 'ok';
    state.last_success_at = new Date().toISOString();
    delete state.failure;
    delete state.last_error;
  } catch (err) {
    state.result = 'error';
    state.failure = err instanceof FeedError ? err.failure : 'internal';
    state.last_error = (err as Error).message.slice(0, 500);
    log.warn({ feed: feed.name, failure: state.failure }, `feed ${feed.name}: ${state.last_error}`);
  } finally {
    clearInterval(renew);
  }
  state.counts = counts;
  state.totals = Object.fromEntries(Object.entries(state.totals).map(([k, v]) => [k, v + counts[k as keyof FeedCounts]])) as FeedCounts;
  state.last_finished_at = new Date().toISOString();
  state.duration_ms = Date.now() - started;
  await stateStore.put(stateKey, 'feed', state);
  await leases.release(leaseName).catch(() => undefined);
  return {
    feed: feed.name,
    result: state.result === 'ok' ? 'ok' : 'error',
    counts,
    ...(state.cursor ? { cursor: state.cursor } : {}),
    ...(state.last_error ? { error: state.last_error } : {}),
    ...(state.failure ? { failure: state.failure } : {}),
    ...(state.rejected_samples.length ? { rejected_samples: state.rejected_samples.slice(0, REPORTED_SAMPLES) } : {}),
  };
}

interface BatchDeps {
  store: IndicatorStore;
  cves: CveStore;
  advisories: AdvisoryStore;
  defaults: Parameters<typeof normalizeIndicator>[1];
  warnings: WarningLists;
  counts: FeedCounts;
  reject: (reason: string, kind?: 'rejected' | 'skipped') => void;
  now: Date;
}

async function storeBatch(batch: SourceBatch, d: BatchDeps): Promise<void> {
  for (const r of batch.rejected ?? []) d.reject(r.reason);
  const add = (res: { added: number; updated: number; unchanged: number }) => {
    d.counts.added += res.added;
    d.counts.updated += res.updated;
    d.counts.unchanged += res.unchanged;
  };
  switch (batch.kind) {
    case 'indicators': {
      const good: FeedIndicator[] = [];
      for (const row of batch.rows) {
        const out = normalizeIndicator(row, d.defaults, d.warnings, d.now);
        if (out.ok) good.push(out.indicator);
        else d.reject(out.reason, out.kind);
      }
      const res = await d.store.upsert(good, d.now);
      add(res);
      for (const f of res.failed) d.reject(`${f.key}: ${f.reason}`);
      break;
    }
    case 'cves': {
      const res = await d.cves.upsertCves(batch.records);
      add(res);
      for (const f of res.failed) d.reject(`${f.id}: ${f.reason}`);
      break;
    }
    case 'kev': {
      const res = await d.cves.upsertKev(batch.entries);
      add(res);
      for (const f of res.failed) d.reject(`${f.id}: ${f.reason}`);
      break;
    }
    case 'advisories':
      add(await d.advisories.upsert(batch.items));
      break;
  }
}

/** Runs several feeds one after another; one feed's failure never stops the others. */
export async function syncFeeds(rt: FeedRuntime, feeds: FeedDefinition[], now?: Date): Promise<FeedRunResult[]> {
  const results: FeedRunResult[] = [];
  for (const feed of feeds) {
    rt.progress?.(`${feed.name} (${feed.kind}): syncing…`);
    const r = await syncFeed(rt, feed, now ?? new Date());
    rt.progress?.(`${feed.name}: ${describeRun(r)}`);
    results.push(r);
  }
  return results;
}

export function describeRun(r: FeedRunResult): string {
  if (r.result === 'skipped') return `skipped: ${r.reason ?? ''}`;
  const c = r.counts;
  const why = c.rejected && r.rejected_samples?.length ? ` (${r.rejected_samples.join('; ')}${c.rejected > r.rejected_samples.length ? '; …' : ''})` : '';
  const line = `added ${c.added}, updated ${c.updated}, unchanged ${c.unchanged}, expired ${c.expired}, rejected ${c.rejected}${why}, skipped ${c.skipped}`;
  return r.result === 'ok' ? `ok: ${line}` : `error (${r.failure}): ${r.error} — stored before the error: ${line}`;
}
