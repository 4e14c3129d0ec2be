import { errors, type Client } from '@elastic/elasticsearch';

/**
 * Leases held in Elasticsearch so several replicas share work without doing it twice.
 * A lease is one document; taking or renewing it is a compare-and-swap on its seq_no/primary_term,
 * so exactly one holder wins however many race. A holder that dies stops renewing and the lease
 * expires; another replica then takes it.
 */
export const LEASE_INDEX = 'nyx-leases';

export interface Lease {
  name: string;
  holder: string;
  expiresAt: number;
}

interface LeaseDoc {
  name: string;
  holder: string;
  acquired_at: string;
  renewed_at: string;
  expires_at: string;
}

export class LeaseStore {
  constructor(
    private readonly client: Client,
    /** This replica's identity (e.g. hostname:pid:random). */
    readonly holder: string,
    private readonly index = LEASE_INDEX,
  ) {}

  /** Takes the lease if free, expired or already ours (then renews it). Returns it, or undefined if another holds it. */
  async acquire(name: string, ttlMs: number, now = Date.now()): Promise<Lease | undefined> {
    const doc: LeaseDoc = { name, holder: this.holder, acquired_at: new Date(now).toISOString(), renewed_at: new Date(now).toISOString(), expires_at: new Date(now + ttlMs).toISOString() };
    let current;
    try {
      current = await this.client.get<LeaseDoc>({ index: this.index, id: name });
    } catch (err) {
      if (!(err instanceof errors.ResponseError && err.statusCode === 404)) throw err;
      current = undefined;
    }
    try {
      if (!current?.found) {
        await this.client.index({ index: this.index, id: name, op_type: 'create', document: doc, refresh: false });
      } else {
        const held = current._source!;
        const free = held.holder === this.holder || Date.parse(held.expires_at) <= now;
        if (!free) return undefined;
        if (held.holder === this.holder) doc.acquired_at = held.acquired_at;
        await this.client.index({ index: this.index, id: name, document: doc, if_seq_no: current._seq_no!, if_primary_term: current._primary_term!, refresh: false });
      }
    } catch (err) {
      // Someone else won the race between our read and our write.
      if (err instanceof errors.ResponseError && err.statusCode === 409) return undefined;
      throw err;
    }
    return { name, holder: this.holder, expiresAt: now + ttlMs };
  }

  /** Gives the lease up (only if ours), so another replica can take it at once. */
  async release(name: string): Promise<void> {
    try {
      const current = await this.client.get<LeaseDoc>({ index: this.index, id: name });
      if (current._source?.holder !== this.holder) return;
      await this.client.delete({ index: this.index, id: name, if_seq_no: current._seq_no!, if_primary_term: current._primary_term! });
    } catch (err) {
      if (err instanceof errors.ResponseError && (err.statusCode === 404 || err.statusCode === 409)) return;
      throw err;
    }
  }

  /** Who holds a lease now (undefined when free or expired). */
  async holderOf(name: string, now = Date.now()): Promise<string | undefined> {
    try {
      const current = await this.client.get<LeaseDoc>({ index: this.index, id: name });
      const held = current._source;
      return held && Date.parse(held.expires_at) > now ? held.holder : undefined;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
      throw err;
    }
  }
}
