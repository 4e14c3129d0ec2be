import type { Logger } from '../../log/logger.ts';
import type { CollectedEvent, HostIdentity } from '../event.ts';

/**
 * Where a collector puts what it read. write() returns only after the events (and the cursor they
 * advance the collector to) are durable; false means "not taken" (queue full under the block
 * policy): the collector keeps its old cursor and tries again later.
 */
export interface EventSink {
  write(events: CollectedEvent[], cursor?: unknown): boolean;
  /** The last cursor written with write(), as stored (validate it before use). */
  cursor(): unknown;
}

export interface CollectorContext {
  sink: EventSink;
  host: HostIdentity;
  log: Logger;
}

export interface Collector {
  readonly id: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs `tick` every `ms` without overlap; the first run is immediate. */
export class PollLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly ms: number,
    private readonly tick: () => Promise<void> | void,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = (async () => {
        try {
          await this.tick();
        } catch (err) {
          this.onError(err);
        }
      })().finally(() => {
        this.running = undefined;
        this.schedule(this.ms);
      });
    }, delay);
  }

  /** Stops scheduling and waits for a run in progress, so no write happens after stop. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}

/** A base event with the host's identity filled in. */
export function baseEvent(host: HostIdentity, category: CollectedEvent['category'], ts: string): CollectedEvent {
  return { ts, category, host: host.hostname, ...(host.ip ? { ip: host.ip } : {}), raw: undefined };
}
