import type { Logger } from '../../log/logger.ts';
import { IndicatorSet, type UpsertOutcome } from './indicator-set.ts';
import type { IndicatorSource, LatestIndicator } from './indicators.ts';
import type { WarningList } from './warning-list.ts';

export interface RefreshReport {
  /** True for the first read (the whole active set); later reads are changes only. */
  full: boolean;
  read: number;
  added: number;
  updated: number;
  removed: number;
  /** Dropped locally because their expiry passed (no store change needed). */
  expired: number;
  warningListed: number;
  ignored: number;
  /** When this read began: the next one asks for changes since then, less the overlap. */
  cursor: string | null;
}

/**
 * The active indicator set kept current in memory: one full read at start, then only indicators whose
 * matcher-relevant fields changed since the cursor: when the previous read started, less an overlap that
 * covers the store's refresh lag (about a second) and clock skew between replicas; re-applying is idempotent.
 * Expiry is applied locally too, so an indicator that simply times out leaves without a store change.
 */
export class LiveIndicatorSet {
  readonly set: IndicatorSet;
  private cursor: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RefreshReport> | undefined;

  constructor(
    private readonly source: IndicatorSource,
    warningList?: WarningList,
    private readonly options: { overlapMs?: number; log?: Logger } = {},
  ) {
    this.set = new IndicatorSet(warningList);
  }

  /** Reads changes since the cursor (everything the first time). Concurrent calls share one read. */
  refresh(now = Date.now()): Promise<RefreshReport> {
    this.running ??= this.read(now).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Applies indicators directly (as a read from the store would); for callers that already hold them. */
  apply(indicators: Iterable<LatestIndicator>, now = Date.now()): Record<UpsertOutcome, number> {
    const counts: Record<UpsertOutcome, number> = { added: 0, updated: 0, removed: 0, ignored: 0, warning_listed: 0 };
    for (const ind of indicators) counts[this.set.apply(ind, now)]++;
    return counts;
  }

  /** Refreshes every `intervalMs` until `stop`; `onChange` runs after a refresh that changed the set. */
  start(intervalMs: number, onChange?: (report: RefreshReport) => void | Promise<void>): void {
    const tick = async (): Promise<void> => {
      try {
        const report = await this.refresh();
        if (report.added + report.updated + report.removed + report.expired > 0) await onChange?.(report);
      } catch (err) {
        this.options.log?.warn({ err }, 'indicator refresh failed; matching continues with the set as it was');
      }
      if (this.timer) this.timer = setTimeout(() => void tick(), intervalMs).unref();
    };
    this.timer = setTimeout(() => void tick(), intervalMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async read(now: number): Promise<RefreshReport> {
    const full = this.cursor === undefined;
    const overlap = this.options.overlapMs ?? 10_000;
    const since = full ? undefined : new Date(this.cursor! - overlap);
    const report: RefreshReport = { full, read: 0, added: 0, updated: 0, removed: 0, expired: 0, warningListed: 0, ignored: 0, cursor: null };
    for await (const ind of this.source.activeIndicators(since ? { since } : {})) {
      report.read++;
      const outcome = this.set.apply(ind, now);
      if (outcome === 'warning_listed') report.warningListed++;
      else report[outcome]++;
    }
    // Everything modified before this read began (less the overlap) has now been seen.
    this.cursor = now;
    report.expired = this.set.expire(now);
    report.cursor = this.cursor ? new Date(this.cursor).toISOString() : null;
    return report;
  }
}
