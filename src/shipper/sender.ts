import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import type { IngestOutcome, ItemOutcome } from './client.ts';
import type { AgentEvent } from './event.ts';
import type { DurableQueue, QueueRecord } from './queue.ts';

/**
 * Where batches go: the ingest API (IngestClient) or Elasticsearch directly (DirectElasticsearchOutput).
 * Either answers one outcome per event, so the queue's semantics are the same for both.
 */
export interface EventOutput {
  ingest(agentKey: string, events: AgentEvent[]): Promise<IngestOutcome>;
  /** Who refused which credential, for the status (never the credential itself). Default: the ingest API's agent key. */
  readonly refusal?: { by: string; credential: string };
}

export interface SenderOptions {
  batchSize: number;
  flushIntervalMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  stateDir: string;
}

export interface SenderCounters {
  sent: number;
  retried: number;
  rejected: number;
}

/** Exponential backoff with equal jitter: half fixed, half random, so agents do not retry in lockstep. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + random() * (base / 2));
}

/**
 * How many times the server may fail (HTTP 500) on one event sent alone before it is dead-lettered: a backoff
 * separates the tries, so a passing fault is ridden out, while an event that always breaks the server stops
 * blocking the queue behind it.
 */
export const MAX_LONE_EVENT_SERVER_ERRORS = 3;

/** The shipper's local dead-letter store: one JSON line per event the server will not take, with the reason. */
export const DEAD_LETTER_FILE = 'dead-letter.ndjson';

/**
 * BatchSender: takes batches from the queue, POSTs them, and settles each event by its own
 * result: done (stored/duplicate) or rejected (dead-lettered locally) leave the queue;
 * failed ones go back to be retried alone. One request at a time keeps order simple.
 */
export class BatchSender {
  readonly counters: SenderCounters = { sent: 0, retried: 0, rejected: 0 };
  state: 'running' | 'backing_off' | 'unauthorized' = 'running';
  lastError: string | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** False while backing off: new events must not cut a backoff (or the server's Retry-After) short. */
  private wakeable = true;
  private attempt = 0;
  private limit: number;
  private loopDone: Promise<void> | undefined;
  /** Server errors (500) per event sent alone, by seq: the count that dead-letters a poison event. */
  private readonly loneServerErrors = new Map<number, number>();

  constructor(
    private readonly queue: DurableQueue,
    private readonly client: EventOutput,
    private readonly agentKey: () => string,
    private readonly options: SenderOptions,
    private readonly log: Logger,
  ) {
    this.limit = options.batchSize;
  }

  start(): void {
    this.loopDone = this.loop();
  }

  /** New events arrived: send now if a full batch is ready (not during a backoff). */
  notify(): void {
    if (this.wakeable) this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loopDone;
  }

  /** Waits `ms`; stop() always ends the wait early, notify() only when `wakeable`. */
  private sleep(ms: number, wakeable = true): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = undefined;
        self.wakeable = true;
        resolve();
      }
      this.wake = done;
      this.wakeable = wakeable;
    });
  }

  private async loop(): Promise<void> {
    let lastFlush = Date.now();
    while (!this.stopped) {
      const stats = this.queue.stats();
      const ready = stats.depth - stats.inFlight;
      const due = Date.now() - lastFlush >= this.options.flushIntervalMs;
      if (ready <= 0 || (ready < this.limit && !due)) {
        await this.sleep(ready <= 0 ? this.options.flushIntervalMs : Math.max(10, this.options.flushIntervalMs - (Date.now() - lastFlush)));
        if (ready <= 0) lastFlush = Date.now() - this.options.flushIntervalMs; // an idle queue sends its first event at once
        continue;
      }
      lastFlush = Date.now();
      const batch = this.queue.take(this.limit);
      if (!batch.length) continue;
      const delay = await this.sendBatch(batch);
      if (delay > 0 && !this.stopped) await this.sleep(delay, false);
    }
  }

  /** Sends one batch and settles every event in it; returns how long to wait before the next try. */
  async sendBatch(batch: QueueRecord[]): Promise<number> {
    const events: AgentEvent[] = batch.map((r) => ({ ...r.event, seq: r.seq }));
    const outcome = await this.client.ingest(this.agentKey(), events);
    const seqs = batch.map((r) => r.seq);
    switch (outcome.kind) {
      case 'items':
        return this.settle(batch, outcome.items, outcome.retryAfterMs);
      case 'retry':
        this.queue.release(seqs);
        this.counters.retried += seqs.length;
        this.lastError = outcome.reason;
        return this.backoff(outcome.retryAfterMs);
      case 'unauthorized':
        this.queue.release(seqs);
        this.state = 'unauthorized';
        const refusal = this.client.refusal ?? { by: 'the server', credential: 'agent key' };
        this.lastError = `${refusal.by} refused the ${refusal.credential} (HTTP ${outcome.status}); events stay queued`;
        this.log.error({ status: outcome.status }, `${refusal.credential} refused; events stay queued`);
        return this.backoff(undefined, true);
      case 'too_large':
      case 'bad_request':
        if (batch.length > 1) return this.bisect(batch);
        return this.settle(batch, [{ kind: 'rejected', reason: outcome.kind === 'too_large' ? 'event too large for the server' : outcome.reason }]);
      case 'server_error': {
        this.lastError = outcome.reason;
        if (batch.length > 1) return this.bisect(batch);
        const seq = batch[0]!.seq;
        const failures = (this.loneServerErrors.get(seq) ?? 0) + 1;
        if (failures >= MAX_LONE_EVENT_SERVER_ERRORS) {
          this.loneServerErrors.delete(seq);
          this.log.warn({ seq, status: outcome.status }, 'the server fails on this event alone; dead-lettered');
          return this.settle(batch, [{ kind: 'rejected', reason: `the server failed on this event alone ${failures} times (${outcome.reason})` }]);
        }
        this.loneServerErrors.set(seq, failures);
        this.queue.release(seqs);
        this.counters.retried++;
        return this.backoff();
      }
    }
  }

  /**
   * Halves the batch size and puts the batch back: repeated, the event the server cannot take ends alone,
   * where it is dead-lettered with the server's reason, and everything around it is sent.
   */
  private bisect(batch: QueueRecord[]): number {
    this.queue.release(batch.map((r) => r.seq));
    this.limit = Math.max(1, Math.floor(batch.length / 2));
    return 0;
  }

  private settle(batch: QueueRecord[], items: ItemOutcome[], retryAfterMs?: number): number {
    const done: number[] = [];
    const rejected: number[] = [];
    const retry: number[] = [];
    batch.forEach((rec, i) => {
      this.loneServerErrors.delete(rec.seq);
      const item = items[i] ?? { kind: 'retry', reason: 'no result' };
      if (item.kind === 'done') done.push(rec.seq);
      else if (item.kind === 'rejected') {
        rejected.push(rec.seq);
        this.deadLetter(rec, item.reason, item.field);
      } else retry.push(rec.seq);
    });
    // Dead letters are written before the queue forgets the event.
    if (done.length) this.queue.complete(done, 'sent');
    if (rejected.length) this.queue.complete(rejected, 'rejected');
    this.counters.sent += done.length;
    this.counters.rejected += rejected.length;
    if (retry.length) {
      this.queue.release(retry);
      this.counters.retried += retry.length;
      const first = items.find((it) => it.kind === 'retry');
      this.lastError = first && first.kind === 'retry' ? first.reason : 'some events failed';
      return this.backoff(retryAfterMs);
    }
    this.attempt = 0;
    this.state = 'running';
    this.limit = this.options.batchSize;
    return 0;
  }

  private backoff(retryAfterMs?: number, long = false): number {
    if (this.state !== 'unauthorized' || !long) this.state = 'backing_off';
    const delay = backoffDelay(long ? 30 : this.attempt++, this.options.backoffInitialMs, this.options.backoffMaxMs);
    return Math.max(delay, retryAfterMs ?? 0);
  }

  private deadLetter(rec: QueueRecord, reason: string, field?: string): void {
    const line = JSON.stringify({ at: new Date().toISOString(), seq: rec.seq, reason, ...(field ? { field } : {}), event: rec.event });
    appendFileSync(join(this.options.stateDir, DEAD_LETTER_FILE), `${line}\n`);
  }
}
