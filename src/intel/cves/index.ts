import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import { z } from 'zod';

/**
 * The CVE store (`nyx-cves`, one document per CVE id): NVD records joined with CISA KEV. CVEs are public
 * data, so one index serves every namespace. NVD writes and KEV writes are partial updates of the same
 * document, so either may arrive first and neither erases the other.
 */
export const CVE_INDEX = 'nyx-cves';
export const ADVISORY_INDEX = 'nyx-advisories';

export interface CvssScore {
  baseScore: number;
  baseSeverity?: string;
  vectorString?: string;
}

export interface CpeMatch {
  criteria: string;
  vulnerable: boolean;
  part?: string;
  vendor?: string;
  product?: string;
  /** The version in the criteria itself (`*` or `-` when a range or any). */
  version?: string;
  versionStartIncluding?: string;
  versionStartExcluding?: string;
  versionEndIncluding?: string;
  versionEndExcluding?: string;
}

export interface KevEntry {
  dateAdded: string;
  dueDate?: string;
  knownRansomware: boolean;
  requiredAction?: string;
  vendorProject?: string;
  product?: string;
}

export interface CveRecord {
  id: string;
  status?: string;
  published?: string;
  lastModified?: string;
  description?: string;
  cvss?: { v31?: CvssScore; v40?: CvssScore; v30?: CvssScore; v2?: CvssScore };
  /** Best available base score (v4.0, else v3.1, else v3.0, else v2). */
  score?: number;
  cwe?: string[];
  cpeMatch?: CpeMatch[];
  /** `vendor:product` pairs from cpeMatch, for term lookups. */
  products?: string[];
  references?: string[];
  kev?: KevEntry;
  source?: string;
  updated_at?: string;
}

/** Splits cpe:2.3:part:vendor:product:version:… (colons escaped with backslash stay inside a field). */
export function parseCpe(criteria: string): { part?: string; vendor?: string; product?: string; version?: string } {
  const fields = criteria.split(/(?<!\\):/);
  if (fields[0] !== 'cpe' || fields[1] !== '2.3') return {};
  return { part: fields[2], vendor: fields[3], product: fields[4], version: fields[5] };
}

export interface CveWriteResult {
  added: number;
  updated: number;
  unchanged: number;
  failed: Array<{ id: string; reason: string }>;
}

export class CveStore {
  constructor(
    private readonly client: Client,
    readonly index = CVE_INDEX,
  ) {}

  /** Upserts NVD data for each CVE (the kev part is left as it is unless given). */
  async upsertCves(records: CveRecord[]): Promise<CveWriteResult> {
    return this.write(records.map((r) => ({ id: r.id, doc: { ...r, updated_at: new Date().toISOString() } })));
  }

  /** Joins KEV entries onto CVE documents (creating a stub document when NVD has not delivered the CVE yet). */
  async upsertKev(entries: Array<{ id: string; kev: KevEntry }>): Promise<CveWriteResult> {
    return this.write(entries.map((e) => ({ id: e.id, doc: { id: e.id, kev: e.kev, updated_at: new Date().toISOString() } })));
  }

  async get(id: string): Promise<CveRecord | undefined> {
    try {
      return (await this.client.get<CveRecord>({ index: this.index, id }))._source;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async getMany(ids: string[]): Promise<CveRecord[]> {
    if (!ids.length) return [];
    const res = await this.client.mget<CveRecord>({ index: this.index, ids }).catch((err: unknown) => {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return { docs: [] };
      throw err;
    });
    return res.docs.flatMap((d) => ('found' in d && d.found && d._source ? [d._source] : []));
  }

  /**
   * CVEs whose CPE match criteria name any of these vendor/product pairs (lowercase, as in CPE names).
   * Version ranges are left to the caller, which knows the installed version and its scheme.
   */
  async *byProducts(products: Array<{ vendor: string; product: string }>, pageSize = 500): AsyncIterable<CveRecord> {
    if (!products.length) return;
    yield* this.scan({ terms: { products: products.map((p) => `${p.vendor}:${p.product}`) } }, pageSize);
  }

  /** Every CVE changed (lastModified or KEV join) since an instant, or all. */
  async *all(options: { since?: string | Date; knownExploitedOnly?: boolean } = {}, pageSize = 500): AsyncIterable<CveRecord> {
    const filter: estypes.QueryDslQueryContainer[] = [];
    if (options.since) filter.push({ range: { updated_at: { gte: new Date(options.since).toISOString() } } });
    if (options.knownExploitedOnly) filter.push({ exists: { field: 'kev.dateAdded' } });
    yield* this.scan({ bool: { filter } }, pageSize);
  }

  async count(): Promise<{ total: number; kev: number }> {
    try {
      const total = await this.client.count({ index: this.index });
      const kev = await this.client.count({ index: this.index, query: { exists: { field: 'kev.dateAdded' } } });
      return { total: total.count, kev: kev.count };
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return { total: 0, kev: 0 };
      throw err;
    }
  }

  async refresh(): Promise<void> {
    await this.client.indices.refresh({ index: this.index, ignore_unavailable: true, allow_no_indices: true });
  }

  private async *scan(query: estypes.QueryDslQueryContainer, pageSize: number): AsyncIterable<CveRecord> {
    let after: estypes.SortResults | undefined;
    for (;;) {
      let res;
      try {
        res = await this.client.search<CveRecord>({ index: this.index, size: pageSize, query, sort: [{ id: 'asc' }], ...(after ? { search_after: after } : {}), track_total_hits: false });
      } catch (err) {
        if (err instanceof errors.ResponseError && err.statusCode === 404) return;
        throw err;
      }
      for (const h of res.hits.hits) if (h._source) yield h._source;
      if (res.hits.hits.length < pageSize) return;
      after = res.hits.hits.at(-1)?.sort;
    }
  }

  private async write(items: Array<{ id: string; doc: Partial<CveRecord> }>): Promise<CveWriteResult> {
    const out: CveWriteResult = { added: 0, updated: 0, unchanged: 0, failed: [] };
    if (!items.length) return out;
    const operations = items.flatMap((i) => [{ update: { _index: this.index, _id: i.id } }, { doc: i.doc, doc_as_upsert: true }]);
    const res = await this.client.bulk({ operations, refresh: false });
    res.items.forEach((it, n) => {
      const r = it.update;
      if (r?.error) out.failed.push({ id: items[n]?.id ?? '?', reason: r.error.reason ?? r.error.type });
      else if (r?.result === 'created') out.added++;
      else if (r?.result === 'noop') out.unchanged++;
      else out.updated++;
    });
    return out;
  }
}

export const advisorySchema = z.object({
  feed: z.string(),
  title: z.string(),
  link: z.string().optional(),
  published: z.string().optional(),
  summary: z.string().optional(),
  cves: z.array(z.string()),
});
export type Advisory = z.infer<typeof advisorySchema>;

/** Advisory items (RSS/Atom) with the CVE ids they mention. */
export class AdvisoryStore {
  constructor(
    private readonly client: Client,
    readonly index = ADVISORY_INDEX,
  ) {}

  async upsert(items: Array<Advisory & { id: string }>): Promise<{ added: number; updated: number; unchanged: number }> {
    const out = { added: 0, updated: 0, unchanged: 0 };
    if (!items.length) return out;
    const operations = items.flatMap(({ id, ...doc }) => [{ update: { _index: this.index, _id: id } }, { doc, doc_as_upsert: true }]);
    const res = await this.client.bulk({ operations, refresh: false });
    for (const it of res.items) {
      const r = it.update;
      if (!r || r.error) continue;
      if (r.result === 'created') out.added++;
      else if (r.result === 'noop') out.unchanged++;
      else out.updated++;
    }
    return out;
  }

  async byCve(cve: string): Promise<Advisory[]> {
    try {
      const res = await this.client.search<Advisory>({ index: this.index, size: 100, query: { term: { cves: cve } } });
      return res.hits.hits.flatMap((h) => (h._source ? [h._source] : []));
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
  }

  async refresh(): Promise<void> {
    await this.client.indices.refresh({ index: this.index, ignore_unavailable: true, allow_no_indices: true });
  }
}
