import { createHash } from 'node:crypto';
import { parseStringPromise } from 'xml2js';
import { z } from 'zod';
import { parseCpe, type CpeMatch, type CveRecord, type CvssScore } from '../cves/index.ts';
import { describeUrl, FeedError } from '../feeds/http.ts';
import { isJsonItemError, jsonArrayItems } from '../parsers/json-stream.ts';
import type { FeedSource, SourceReject } from './types.ts';

const cvssData = z.object({ baseScore: z.number(), baseSeverity: z.string().optional(), vectorString: z.string().optional() }).passthrough();
const metric = z.object({ type: z.string().optional(), cvssData, baseSeverity: z.string().optional() }).passthrough();
const cpeMatchSchema = z
  .object({
    vulnerable: z.boolean(),
    criteria: z.string(),
    versionStartIncluding: z.string().optional(),
    versionStartExcluding: z.string().optional(),
    versionEndIncluding: z.string().optional(),
    versionEndExcluding: z.string().optional(),
  })
  .passthrough();

/** One `vulnerabilities[]` item of NVD's CVE API 2.0 and JSON 2.0 feed files (the same shape). */
export const nvdItemSchema = z.object({
  cve: z
    .object({
      id: z.string().regex(/^CVE-\d{4}-\d{4,}$/),
      published: z.string().optional(),
      lastModified: z.string().optional(),
      vulnStatus: z.string().optional(),
      descriptions: z.array(z.object({ lang: z.string(), value: z.string() })).optional(),
      metrics: z
        .object({
          cvssMetricV40: z.array(metric).optional(),
          cvssMetricV31: z.array(metric).optional(),
          cvssMetricV30: z.array(metric).optional(),
          cvssMetricV2: z.array(metric).optional(),
        })
        .passthrough()
        .optional(),
      weaknesses: z.array(z.object({ description: z.array(z.object({ lang: z.string(), value: z.string() })) }).passthrough()).optional(),
      configurations: z.array(z.object({ nodes: z.array(z.object({ cpeMatch: z.array(cpeMatchSchema).optional() }).passthrough()) }).passthrough()).optional(),
      references: z.array(z.object({ url: z.string() }).passthrough()).optional(),
      cisaExploitAdd: z.string().optional(),
      cisaActionDue: z.string().optional(),
      cisaRequiredAction: z.string().optional(),
    })
    .passthrough(),
});

function pickMetric(list: Array<z.infer<typeof metric>> | undefined): CvssScore | undefined {
  if (!list?.length) return undefined;
  const m = list.find((x) => x.type === 'Primary') ?? list[0];
  if (!m) return undefined;
  const sev = m.cvssData.baseSeverity ?? m.baseSeverity;
  return { baseScore: m.cvssData.baseScore, ...(sev ? { baseSeverity: sev } : {}), ...(m.cvssData.vectorString ? { vectorString: m.cvssData.vectorString } : {}) };
}

/** NVD's timestamps have no zone; they are UTC. */
function utc(ts: string | undefined): string | undefined {
  if (!ts) return undefined;
  const s = /[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? ts : `${ts}Z`;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A validated NVD item → our CVE record (CVSS v4.0/v3.1/v3.0/v2, CWE, CPE match criteria with ranges). */
export function cveFromNvd(item: unknown): CveRecord | string {
  const parsed = nvdItemSchema.safeParse(item);
  if (!parsed.success) return `${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`;
  const c = parsed.data.cve;
  const cvss = { v40: pickMetric(c.metrics?.cvssMetricV40), v31: pickMetric(c.metrics?.cvssMetricV31), v30: pickMetric(c.metrics?.cvssMetricV30), v2: pickMetric(c.metrics?.cvssMetricV2) };
  const cvssDefined = Object.fromEntries(Object.entries(cvss).filter(([, v]) => v)) as CveRecord['cvss'];
  const score = (cvss.v40 ?? cvss.v31 ?? cvss.v30 ?? cvss.v2)?.baseScore;
  const cwe = [...new Set((c.weaknesses ?? []).flatMap((w) => w.description.map((d) => d.value)).filter((v) => /^CWE-\d+$/.test(v)))];
  const cpeMatch: CpeMatch[] = (c.configurations ?? []).flatMap((conf) =>
    conf.nodes.flatMap((n) =>
      (n.cpeMatch ?? []).map((m) => {
        const p = parseCpe(m.criteria);
        return {
          criteria: m.criteria,
          vulnerable: m.vulnerable,
          ...(p.part ? { part: p.part } : {}),
          ...(p.vendor ? { vendor: p.vendor } : {}),
          ...(p.product ? { product: p.product } : {}),
          ...(p.version ? { version: p.version } : {}),
          ...(m.versionStartIncluding ? { versionStartIncluding: m.versionStartIncluding } : {}),
          ...(m.versionStartExcluding ? { versionStartExcluding: m.versionStartExcluding } : {}),
          ...(m.versionEndIncluding ? { versionEndIncluding: m.versionEndIncluding } : {}),
          ...(m.versionEndExcluding ? { versionEndExcluding: m.versionEndExcluding } : {}),
        };
      }),
    ),
  );
  const products = [...new Set(cpeMatch.filter((m) => m.vendor && m.product).map((m) => `${m.vendor}:${m.product}`))];
  const description = c.descriptions?.find((d) => d.lang === 'en')?.value ?? c.descriptions?.[0]?.value;
  const published = utc(c.published);
  const lastModified = utc(c.lastModified);
  return {
    id: c.id,
    ...(c.vulnStatus ? { status: c.vulnStatus } : {}),
    ...(published ? { published } : {}),
    ...(lastModified ? { lastModified } : {}),
    ...(description ? { description: description.slice(0, 8000) } : {}),
    ...(cvssDefined && Object.keys(cvssDefined).length ? { cvss: cvssDefined } : {}),
    ...(score !== undefined ? { score } : {}),
    cwe,
    cpeMatch,
    products,
    references: (c.references ?? []).map((r) => r.url).slice(0, 50),
    // NVD carries the KEV dates too; the CISA feed adds knownRansomware.
    ...(c.cisaExploitAdd ? { kev: { dateAdded: c.cisaExploitAdd, ...(c.cisaActionDue ? { dueDate: c.cisaActionDue } : {}), knownRansomware: false, ...(c.cisaRequiredAction ? { requiredAction: c.cisaRequiredAction } : {}) } } : {}),
    source: 'nvd',
  };
}

const nvdPage = z.object({ resultsPerPage: z.number().int(), startIndex: z.number().int(), totalResults: z.number().int(), vulnerabilities: z.array(z.unknown()) }).passthrough();

/** NVD wants ISO-8601 with an explicit offset. */
function nvdDate(d: Date): string {
  return d.toISOString().replace('Z', '+00:00');
}

/**
 * NVD CVE API 2.0 by lastModified windows of at most window_days (≤120), resultsPerPage ≤2000, paced to
 * the published limits (5 requests / 30 s, 50 with an apiKey). The cursor is the end of the last window
 * fully stored.
 */
export const nvdApiSource: FeedSource = async function* (ctx) {
  const o = ctx.feed.nvd;
  const perWindow = o.requests_per_window ?? (ctx.secret ? 50 : 5);
  const gapMs = o.window_ms / perWindow;
  let lastRequest = 0;
  const paced = async <T>(fn: () => Promise<T>): Promise<T> => {
    const wait = lastRequest + gapMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    lastRequest = Date.now();
    return fn();
  };
  const start = ctx.cursor ? new Date(ctx.cursor) : new Date(ctx.now.getTime() - o.initial_days * 86_400_000);
  const end = ctx.now;
  for (let from = start; from < end; ) {
    const to = new Date(Math.min(end.getTime(), from.getTime() + o.window_days * 86_400_000));
    for (let startIndex = 0; ; ) {
      const body = await paced(() =>
        ctx.http.json(ctx.feed.url, { params: { lastModStartDate: nvdDate(from), lastModEndDate: nvdDate(to), resultsPerPage: o.results_per_page, startIndex } }),
      );
      const page = nvdPage.safeParse(body);
      if (!page.success) throw new FeedError('bad_payload', `${describeUrl(ctx.feed.url)}: not a CVE API 2.0 page (${page.error.issues[0]?.path.join('.')}: ${page.error.issues[0]?.message})`);
      const records: CveRecord[] = [];
      const rejected: SourceReject[] = [];
      page.data.vulnerabilities.forEach((v, i) => {
        const r = cveFromNvd(v);
        if (typeof r === 'string') rejected.push({ reason: `item ${startIndex + i}: ${r}` });
        else records.push(r);
      });
      ctx.progress(`  ${from.toISOString().slice(0, 10)}..${to.toISOString().slice(0, 10)}: ${startIndex + page.data.vulnerabilities.length}/${page.data.totalResults}`);
      startIndex += page.data.vulnerabilities.length;
      const last = startIndex >= page.data.totalResults || page.data.vulnerabilities.length === 0;
      yield { kind: 'cves', records, rejected, ...(last ? { cursor: to.toISOString() } : {}) };
      if (last) break;
    }
    from = to;
  }
};

/** NVD JSON 2.0 feed files (yearly or modified, .json or .json.gz), streamed item by item. */
export const nvdFilesSource: FeedSource = async function* (ctx) {
  for (const url of [ctx.feed.url, ...(ctx.feed.urls ?? [])]) {
    const stream = await ctx.http.stream(url);
    let records: CveRecord[] = [];
    let rejected: SourceReject[] = [];
    let n = 0;
    for await (const item of jsonArrayItems(stream, { path: ['vulnerabilities'] })) {
      if (isJsonItemError(item)) rejected.push({ reason: item.error });
      else {
        const r = cveFromNvd(item);
        if (typeof r === 'string') rejected.push({ reason: `item ${n}: ${r}` });
        else records.push(r);
      }
      n++;
      if (records.length + rejected.length >= ctx.feed.batch_size) {
        yield { kind: 'cves', records, rejected };
        records = [];
        rejected = [];
        if (n % 20_000 < ctx.feed.batch_size) ctx.progress(`  ${describeUrl(url)}: ${n} CVEs`);
      }
    }
    yield { kind: 'cves', records, rejected };
    ctx.progress(`  ${describeUrl(url)}: ${n} CVEs`);
  }
};

const kevItem = z.object({
  cveID: z.string().regex(/^CVE-\d{4}-\d{4,}$/),
  vendorProject: z.string().optional(),
  product: z.string().optional(),
  dateAdded: z.string().regex(/^\d{4}-\d{2}-\d{2}/),
  dueDate: z.string().optional(),
  requiredAction: z.string().optional(),
  knownRansomwareCampaignUse: z.string().optional(),
});

/** CISA Known Exploited Vulnerabilities catalog (JSON), joined onto the CVE store. */
export const kevSource: FeedSource = async function* (ctx) {
  const stream = await ctx.http.stream(ctx.feed.url);
  let entries: Array<{ id: string; kev: { dateAdded: string; dueDate?: string; knownRansomware: boolean; requiredAction?: string; vendorProject?: string; product?: string } }> = [];
  let rejected: SourceReject[] = [];
  let n = 0;
  for await (const item of jsonArrayItems(stream, { path: ['vulnerabilities'] })) {
    const k = isJsonItemError(item) ? undefined : kevItem.safeParse(item);
    if (!k) rejected.push({ reason: (item as { error: string }).error });
    else if (!k.success) rejected.push({ reason: `entry ${n}: ${k.error.issues[0]?.path.join('.')}: ${k.error.issues[0]?.message}` });
    else {
      const d = k.data;
      entries.push({
        id: d.cveID,
        kev: {
          dateAdded: d.dateAdded,
          ...(d.dueDate ? { dueDate: d.dueDate } : {}),
          knownRansomware: /^known$/i.test(d.knownRansomwareCampaignUse ?? ''),
          ...(d.requiredAction ? { requiredAction: d.requiredAction } : {}),
          ...(d.vendorProject ? { vendorProject: d.vendorProject } : {}),
          ...(d.product ? { product: d.product } : {}),
        },
      });
    }
    n++;
    if (entries.length + rejected.length >= ctx.feed.batch_size) {
      yield { kind: 'kev', entries, rejected };
      entries = [];
      rejected = [];
    }
  }
  yield { kind: 'kev', entries, rejected };
};

const CVE_RE = /CVE-\d{4}-\d{4,}/gi;

function textOf(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(textOf).join(' ');
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return textOf(o._ ?? '');
  }
  return String(v);
}

/** A generic RSS 2.0 / Atom advisory feed: items stored with the CVE ids they mention. */
export const rssSource: FeedSource = async function* (ctx) {
  const where = describeUrl(ctx.feed.url);
  const xml = await ctx.http.text(ctx.feed.url);
  let doc: Record<string, unknown>;
  try {
    doc = (await parseStringPromise(xml, { explicitArray: true })) as Record<string, unknown>;
  } catch (err) {
    throw new FeedError('bad_payload', `${where}: not XML: ${(err as Error).message.split('\n')[0]?.slice(0, 120)}`);
  }
  type Node = Record<string, unknown[]>;
  const rss = doc.rss as { channel?: Node[] } | undefined;
  const atom = doc.feed as Node | undefined;
  const entries: Node[] = (rss?.channel?.[0]?.item as Node[] | undefined) ?? (atom?.entry as Node[] | undefined) ?? [];
  if (!rss && !atom) throw new FeedError('bad_payload', `${where}: neither RSS nor Atom`);
  const items: Array<{ id: string; feed: string; title: string; link?: string; published?: string; summary?: string; cves: string[] }> = [];
  const rejected: SourceReject[] = [];
  entries.forEach((e, i) => {
    const title = textOf(e.title?.[0]).trim();
    const linkNode = e.link?.[0];
    const link = typeof linkNode === 'string' ? linkNode : ((linkNode as { $?: { href?: string } } | undefined)?.$?.href ?? undefined);
    const summary = textOf(e.description?.[0] ?? e.summary?.[0] ?? e.content?.[0]).slice(0, 8000);
    const guid = textOf(e.guid?.[0] ?? e.id?.[0]) || link || title;
    if (!title && !guid) {
      rejected.push({ reason: `item ${i}: no title, link or id` });
      return;
    }
    const dateText = textOf(e.pubDate?.[0] ?? e.updated?.[0] ?? e.published?.[0]);
    const date = dateText ? new Date(dateText) : undefined;
    const cves = [...new Set(`${title} ${summary}`.match(CVE_RE)?.map((c) => c.toUpperCase()) ?? [])];
    items.push({
      id: createHash('sha256').update(`${ctx.feed.name}\u0000${guid}`).digest('hex'),
      feed: ctx.feed.name,
      title: title || guid,
      ...(link ? { link } : {}),
      ...(date && !Number.isNaN(date.getTime()) ? { published: date.toISOString() } : {}),
      ...(summary ? { summary } : {}),
      cves,
    });
  });
  yield { kind: 'advisories', items, rejected };
};
