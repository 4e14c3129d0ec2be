import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../src/config/index.ts';
import { MispSightingPusher, mispSightingsFromConfig } from '../../src/intel/index.ts';
import type { IndicatorSighting } from '../../src/intel/retro-hunt/index.ts';

const sighting = (value: string, feeds: string[], id: string, timestamp = '2026-01-02T03:04:05.000Z'): IndicatorSighting => ({
  indicator: { key: `ipv4-addr:${value}`, type: 'ipv4-addr', value, providers: ['MISP'], feeds, source_ids: [] },
  observed: value,
  field: 'destination.ip',
  event: { index: 'logs-endpoint-x', id, timestamp },
  namespace: 'x',
  alertId: `a-${id}`,
});

test('the pusher sends only this MISP\'s indicators, once per value and event, at the event\'s time', async () => {
  const sent: unknown[] = [];
  const pusher = new MispSightingPusher({ addSighting: async (s) => void sent.push(s) }, { mispFeeds: ['misp'], maxPerMinute: 60_000, queueMax: 100 });
  const cb = pusher.retroHuntCallback();
  await cb(sighting('203.0.113.10', ['urlhaus', 'misp'], 'e1'));
  await cb(sighting('203.0.113.10', ['misp'], 'e1'));
  await cb(sighting('203.0.113.11', ['urlhaus'], 'e2'));
  pusher.offer({ value: '198.51.100.0/24', timestamp: 1700000000 });
  await pusher.idle();
  assert.deepEqual(sent, [
    { values: ['203.0.113.10'], timestamp: Math.floor(Date.parse('2026-01-02T03:04:05.000Z') / 1000) },
    { values: ['198.51.100.0/24'], timestamp: 1700000000 },
  ]);
  assert.equal(pusher.stats.duplicates, 1);
  assert.equal(pusher.stats.sent, 2);
});

test('a full queue drops and counts; a failing MISP is counted; stop gives up what is left', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let calls = 0;
  const pusher = new MispSightingPusher(
    {
      addSighting: async () => {
        calls++;
        await gate;
        throw new Error('MISP answered 500');
      },
    },
    { mispFeeds: ['misp'], maxPerMinute: 60_000, queueMax: 2 },
  );
  const accepted = [1, 2, 3, 4, 5].map((i) => pusher.offer({ value: `203.0.113.${i}`, timestamp: 1700000000 + i, eventId: `e${i}` }));
  // The first is in flight, two wait, the rest do not fit.
  assert.deepEqual(accepted, [true, true, true, false, false]);
  assert.equal(pusher.stats.dropped, 2);
  release();
  await pusher.idle();
  assert.equal(calls, 3);
  assert.equal(pusher.stats.failed, 3);
  assert.equal(pusher.stats.sent, 0);

  // A slow rate: stop() waits a bounded time, then counts the unsent as dropped.
  const slow = new MispSightingPusher({ addSighting: async () => undefined }, { mispFeeds: ['misp'], maxPerMinute: 1, queueMax: 10 });
  slow.offer({ value: '203.0.113.1', timestamp: 1 });
  slow.offer({ value: '203.0.113.2', timestamp: 2 });
  const stats = await slow.stop(50);
  assert.equal(stats.sent, 1);
  assert.equal(stats.dropped, 1);
  assert.equal(slow.offer({ value: '203.0.113.3', timestamp: 3 }), false, 'stopped: nothing more is taken');
});

test('from config: only an enabled misp feed with its key set; the switch turns it off', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-sightings-'));
  writeFileSync(join(dir, 'misp.yml'), 'name: ourmisp\nkind: misp\nurl: http://127.0.0.1:9/\nauth: { env: NYX_MISP_KEY }\n');
  const config = (over: Record<string, unknown> = {}) => configSchema.parse({ intel: { feeds_dir: dir, sightings: over } });
  assert.match(mispSightingsFromConfig(config(), {}).reason, /\$NYX_MISP_KEY is not set/);
  const on = mispSightingsFromConfig(config(), { NYX_MISP_KEY: 'k' });
  assert.deepEqual([...(on.pusher?.mispFeeds ?? [])], ['ourmisp']);
  assert.equal(mispSightingsFromConfig(config({ enabled: false }), { NYX_MISP_KEY: 'k' }).pusher, undefined);
  assert.match(mispSightingsFromConfig(config({ feed: 'other' }), { NYX_MISP_KEY: 'k' }).reason, /no enabled misp feed named other/);
  writeFileSync(join(dir, 'misp.yml'), 'name: ourmisp\nkind: misp\nenabled: false\nurl: http://127.0.0.1:9/\nauth: { env: NYX_MISP_KEY }\n');
  assert.match(mispSightingsFromConfig(config(), { NYX_MISP_KEY: 'k' }).reason, /no enabled misp feed/);
});
