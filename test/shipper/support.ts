import { getLogger } from '../../src/log/logger.ts';
import type { CollectedEvent } from '../../src/shipper/event.ts';
import type { CollectorContext, EventSink } from '../../src/shipper/collectors/types.ts';

/** An in-memory sink that behaves like the queue for a collector: events + last cursor. */
export class MemorySink implements EventSink {
  events: CollectedEvent[] = [];
  last: unknown;
  refuse = false;
  write(events: CollectedEvent[], cursor?: unknown): boolean {
    if (this.refuse) return false;
    this.events.push(...events);
    if (cursor !== undefined) this.last = structuredClone(cursor);
    return true;
  }
  cursor(): unknown {
    return this.last;
  }
  raws(): string[] {
    return this.events.map((e) => String(e.raw));
  }
}

export function testContext(sink: EventSink): CollectorContext {
  return { sink, host: { hostname: 'test-host', ip: '192.0.2.10', os: 'linux test' }, log: getLogger('test') };
}
