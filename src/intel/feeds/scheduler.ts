import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import { LeaseStore } from '../../coordination/index.ts';
import { getLogger } from '../../log/logger.ts';
import { IndicatorStore } from '../store/index.ts';
import type { FeedDefinition } from './definitions.ts';
import { describeRun, syncFeed, type FeedRunResult, type FeedRuntime } from './runner.ts';

/**
 * Keeps feeds on their cron schedules. Every replica schedules every feed; the feed's lease decides
 * which replica actually syncs it each time, so several replicas never sync one feed at once.
 */
export class FeedScheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Set<Promise<unknown>>();
  readonly holder: string;

  constructor(
    private readonly rt: FeedRuntime,
    private readonly feeds: FeedDefinition[],
    private readonly onRun?: (r: FeedRunResult) => void,
  ) {
    this.holder = rt.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  start(options: { runNow?: boolean } = {}): void {
    const log = getLogger('intel.feeds');
    for (const feed of this.feeds.filter((f) => f.enabled)) {
      const task = cron.schedule(feed.schedule, () => this.track(this.runOne(feed)), { name: `feed:${feed.name}`, noOverlap: true });
      this.tasks.push(task);
      if (options.runNow) void this.track(this.runOne(feed));
    }
    log.info(`scheduled ${this.tasks.length} feeds`);
    if (cron.validate(this.rt.intel.expire_schedule)) {
      this.tasks.push(cron.schedule(this.rt.intel.expire_schedule, () => this.track(this.expireAll()), { name: 'feed-expiry', noOverlap: true }));
    } else log.warn(`intel.expire_schedule ${this.rt.intel.expire_schedule} is not a cron expression: expiry runs only after each feed sync`);
  }

  /** Expiry across all feeds (one replica at a time), so indicators of a feed that stopped syncing still expire. */
  async expireAll(now: Date = new Date()): Promise<number> {
    const leases = new LeaseStore(this.rt.client, this.holder);
    const name = `feed-expiry:${this.rt.namespace}`;
    if (!(await leases.acquire(name, this.rt.intel.lease_ttl_ms))) return 0;
    try {
      const r = await new IndicatorStore(this.rt.client, this.rt.namespace).expire(now);
      if (r.expired) getLogger('intel.feeds').info(`${r.expired} indicators expired`);
      return r.expired;
    } catch (err) {
      getLogger('intel.feeds').warn({ err }, 'indicator expiry failed');
      return 0;
    } finally {
      await leases.release(name).catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    for (const t of this.tasks) await t.destroy();
    this.tasks.length = 0;
    await Promise.allSettled([...this.running]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return p;
  }

  private async runOne(feed: FeedDefinition): Promise<FeedRunResult> {
    const r = await syncFeed({ ...this.rt, holder: this.holder }, feed).catch(
      (err: Error): FeedRunResult => ({ feed: feed.name, result: 'error', counts: { added: 0, updated: 0, unchanged: 0, expired: 0, rejected: 0, skipped: 0 }, error: err.message, failure: 'internal' }),
    );
    getLogger('intel.feeds').info(`${feed.name}: ${describeRun(r)}`);
    this.onRun?.(r);
    return r;
  }
}
