import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
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

/**
 * A `nyx ship` config in `dir` for the e2e tests: tails `dir/logs/*.log` into `server`, enrolls with
 * `token` (written to `dir/token`), keeps its state in `dir/state`; short intervals so a test runs fast.
 */
export function writeShipperConfig(dir: string, server: string, token: string): { config: string; logs: string; stateDir: string } {
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  writeFileSync(join(dir, 'token'), token);
  const config = join(dir, 'ship.yml');
  writeFileSync(
    config,
    `server: ${server}\nenrollment_token_file: ./token\nstate_dir: ./state\nstatus_interval_ms: 500\ninputs:\n  - type: files\n    paths: ['./logs/*.log']\n    poll_ms: 100\noutput:\n  batch_size: 100\n  flush_interval_ms: 200\n  backoff_initial_ms: 100\n  backoff_max_ms: 1000\n`,
  );
  return { config, logs, stateDir: join(dir, 'state') };
}

/** Polls (bounded) until `index` holds at least `expected` documents; returns the last count. */
export async function waitForCount(es: Client, index: string, expected: number, timeoutMs: number): Promise<number> {
  let count = 0;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await es.indices.refresh({ index }).catch(() => undefined);
    count = (await es.count({ index }).catch(() => ({ count: 0 }))).count;
    if (count >= expected) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return count;
}

/** Every document of `index`: its _id and the original line it was made from. */
export async function storedLines(es: Client, index: string): Promise<Array<{ id: string; line: string | undefined }>> {
  await es.indices.refresh({ index });
  const res = await es.search<{ message?: string; event?: { original?: string } }>({ index, size: 10_000, _source: ['message', 'event.original'] });
  return res.hits.hits.map((h) => ({ id: h._id as string, line: h._source?.event?.original ?? h._source?.message }));
}
