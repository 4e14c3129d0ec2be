import type { Logger } from 'pino';
import type { NyxConfig } from '../../config/index.ts';
import { getLogger } from '../../log/logger.ts';
import { loadFeedDefinitions } from '../feeds/definitions.ts';
import type { SightingCallback } from '../retro-hunt/index.ts';
import { mispClientFromConfig } from './from-config.ts';

/**
 * Sightings pushed back to MISP (`POST /sightings/add`) when one of its indicators matches our data: the
 * retro-hunt's first-time hits and, in stream, events stored for the first time with a match. Pushing is
 * off the event path: a bounded queue drained at a bounded rate; a full queue drops (counted), a failed
 * push is counted and logged (at most once a minute), and neither ever costs an event or an alert.
 */

/** What a pusher needs of the MISP client (`MispClient` fits). */
export interface SightingSink {
  addSighting(sighting: { values: string[]; timestamp?: number }): Promise<void>;
}

export interface SightingPusherOptions {
  /** Feed names whose indicators this MISP knows (it is told only about its own attributes). */
  mispFeeds: string[];
  maxPerMinute: number;
  queueMax: number;
  /** How many (value, event) pairs are remembered so a retry or a second path never sights one event twice. */
  dedupeMax?: number;
  log?: Logger;
}

export interface SightingStats {
  queued: number;
  sent: number;
  failed: number;
  /** Not queued: the queue was full, or stopping left them unsent. */
  dropped: number;
  duplicates: number;
}

export interface SightingOffer {
  /** The MISP attribute value (a network indicator is sighted as its CIDR). */
  value: string;
  /** When it was seen (epoch seconds). */
  timestamp: number;
  /** The event it was seen in (its stored _id), for de-duplication. */
  eventId?: string;
}

export class MispSightingPusher {
  readonly stats: SightingStats = { queued: 0, sent: 0, failed: 0, dropped: 0, duplicates: 0 };
  readonly mispFeeds: ReadonlySet<string>;
  private readonly queue: SightingOffer[] = [];
  private readonly seen = new Map<string, true>();
  private readonly log: Logger;
  private readonly intervalMs: number;
  private nextAt = 0;
  private draining: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private halted = false;
  private lastWarn = 0;
  private warnedFailures = 0;

  constructor(
    private readonly sink: SightingSink,
    private readonly options: SightingPusherOptions,
  ) {
    this.mispFeeds = new Set(options.mispFeeds);
    this.log = options.log ?? getLogger('misp-sightings');
    this.intervalMs = 60_000 / options.maxPerMinute;
  }

  /** True when an indicator reported by these feeds (a comma-joined list is fine) is one of this MISP's. */
  knows(feeds: Iterable<string> | string | null | undefined): boolean {
    if (!feeds) return false;
    const list = typeof feeds === 'string' ? feeds.split(',') : feeds;
    for (const f of list) if (this.mispFeeds.has(f.trim())) return true;
    return false;
  }

  /** Queues a sighting; never waits and never throws. False when it is a duplicate, dropped, or stopping. */
  offer(sighting: SightingOffer): boolean {
    if (this.stopping || !sighting.value || !Number.isFinite(sighting.timestamp)) return false;
    if (sighting.eventId !== undefined) {
      const key = `${sighting.value.toLowerCase()}\u0000${sighting.eventId}`;
      if (this.seen.has(key)) {
        this.stats.duplicates++;
        return false;
      }
      this.seen.set(key, true);
      if (this.seen.size > (this.options.dedupeMax ?? 50_000)) this.seen.delete(this.seen.keys().next().value!);
    }
    if (this.queue.length >= this.options.queueMax) {
      this.stats.dropped++;
      this.warn(`sighting queue full (${this.options.queueMax}); sightings are being dropped`);
      return false;
    }
    this.queue.push(sighting);
    this.stats.queued++;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    return true;
  }

  /** The retro-hunt's callback: sightings of this MISP's indicators, queued (the hunt never waits on MISP). */
  retroHuntCallback(): SightingCallback {
    return async (s) => {
      if (!this.knows(s.indicator.feeds)) return;
      this.offer({ value: s.indicator.value, timestamp: Math.floor(Date.parse(s.event.timestamp) / 1000), eventId: s.event.id });
    };
  }

  /** Waits until the queue is empty (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Stops taking sightings and sends what is queued, for at most `timeoutMs`; the rest count as dropped. */
  async stop(timeoutMs = 5_000): Promise<SightingStats> {
    this.stopping = true;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((r) => (timeout = setTimeout(r, timeoutMs)))]);
    clearTimeout(timeout);
    this.halted = true;
    this.stats.dropped += this.queue.splice(0).length;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    return { ...this.stats };
  }

  describe(): string {
    const s = this.stats;
    return `MISP sightings (${[...this.mispFeeds].join(', ')}): ${s.sent} sent, ${s.failed} failed, ${s.dropped} dropped, ${this.queue.length} queued`;
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (!this.queue.length || this.halted) return;
      const wait = this.nextAt - Date.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, wait);
        });
        this.wake = undefined;
        this.timer = undefined;
        if (this.halted) return;
      }
      const next = this.queue.shift();
      if (!next) return;
      this.nextAt = Math.max(this.nextAt, Date.now()) + this.intervalMs;
      try {
        await this.sink.addSighting({ values: [next.value], timestamp: next.timestamp });
        this.stats.sent++;
      } catch (err) {
        this.stats.failed++;
        this.warn('pushing a sighting to MISP failed; the event and its alert are stored', err);
      }
    }
  }

  private warn(message: string, err?: unknown): void {
    this.warnedFailures++;
    const now = Date.now();
    if (now - this.lastWarn < 60_000) return;
    this.lastWarn = now;
    this.log.warn({ ...(err ? { err } : {}), misp_sightings: { ...this.stats, since_last_warning: this.warnedFailures } }, message);
    this.warnedFailures = 0;
  }
}

/**
 * The pusher for the configured MISP (`intel.sightings`): the named `kind: misp` feed or the first
 * enabled one, its key from the env var it names. Undefined (with the reason) when sightings are off,
 * no MISP feed is enabled, or its key is not set.
 */
export function mispSightingsFromConfig(config: NyxConfig, env: NodeJS.ProcessEnv = process.env, log: Logger = getLogger('misp-sightings')): { pusher?: MispSightingPusher; reason: string } {
  const s = config.intel.sightings;
  if (!s.enabled) return { reason: 'MISP sightings off (intel.sightings.enabled: false)' };
  let feeds;
  try {
    feeds = loadFeedDefinitions(config.intel.feeds_dir);
  } catch (err) {
    return { reason: `MISP sightings off: feed definitions unreadable (${(err as Error).message})` };
  }
  const feed = feeds.find((f) => f.kind === 'misp' && f.enabled && (s.feed ? f.name === s.feed : true));
  if (!feed) return { reason: s.feed ? `MISP sightings off: no enabled misp feed named ${s.feed}` : 'MISP sightings off: no enabled misp feed' };
  const client = mispClientFromConfig(config, env, feed.name);
  if (!client) return { reason: `MISP sightings off: ${feed.auth ? `$${feed.auth.env} is not set` : `feed ${feed.name} has no auth`}` };
  return {
    pusher: new MispSightingPusher(client, { mispFeeds: [feed.name], maxPerMinute: s.max_per_minute, queueMax: s.queue_max, log }),
    reason: `MISP sightings to feed ${feed.name}, at most ${s.max_per_minute}/min`,
  };
}
