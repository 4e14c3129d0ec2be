import type { Advisory, CveRecord, KevEntry } from '../cves/index.ts';
import type { FeedDefinition } from '../feeds/definitions.ts';
import type { FeedHttp } from '../feeds/http.ts';
import type { RawIndicator } from '../normalize/index.ts';

export interface SourceContext {
  feed: FeedDefinition;
  http: FeedHttp;
  /** The secret from the env var the feed's auth names (never logged). */
  secret?: string;
  /** The cursor stored after the last batch that was fully stored. */
  cursor?: string;
  now: Date;
  progress: (line: string) => void;
}

/** A row the source itself could not read (bad CSV quoting, unparseable JSON item, missing fields). */
export interface SourceReject {
  reason: string;
}

interface BatchBase {
  rejected?: SourceReject[];
  /** Store this cursor once this batch (and every one before it) is stored. */
  cursor?: string;
}

export type SourceBatch =
  | (BatchBase & { kind: 'indicators'; rows: RawIndicator[] })
  | (BatchBase & { kind: 'cves'; records: CveRecord[] })
  | (BatchBase & { kind: 'kev'; entries: Array<{ id: string; kev: KevEntry }> })
  | (BatchBase & { kind: 'advisories'; items: Array<Advisory & { id: string }> });

/** A feed kind: reads the source and yields batches; throws FeedError when the source fails. */
export type FeedSource = (ctx: SourceContext) => AsyncIterable<SourceBatch>;

/** Groups rows into batches of `size`, carrying rejects along. */
export class Batcher<T> {
  rows: T[] = [];
  rejected: SourceReject[] = [];
  constructor(readonly size: number) {}
  get full(): boolean {
    return this.rows.length + this.rejected.length >= this.size;
  }
  take(): { rows: T[]; rejected: SourceReject[] } {
    const out = { rows: this.rows, rejected: this.rejected };
    this.rows = [];
    this.rejected = [];
    return out;
  }
}
