import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IndicatorStore, loadWarningLists, readFeedState, syncFeed } from '../../src/intel/index.ts';
import { describeRun } from '../../src/intel/feeds/runner.ts';
import { runNyx } from '../support/cli.ts';
import { testElasticUrl } from '../support/elastic.ts';
import { intelTestEnv, type IntelTestEnv } from './support/setup.ts';
import { startStub, type StubServer } from './support/stub-http.ts';

// Issue 19, class 7: an indicator range broader than intel.max_prefix (default /16 for IPv4, /48 for IPv6) would make
// every event in it match and every playbook fire. Feeds refuse it (counted, with the reason in the run report)
// unless the feed definition allows it (allow_broad_ranges: true, or its own max_prefix).

/** What the feed publishes: two ranges that must never be stored by default, two broad public ones, two narrow ones. */
const LIST = ['# ranges feed', '10.0.0.0/8', '0.0.0.0/0', '45.0.0.0/8', '2a00::/12', '198.51.100.0/24', '2a01:4f8:1:2::/64', ''].join('\n');
const BROAD = ['10.0.0.0/8', '0.0.0.0/0', '45.0.0.0/8', '2a00::/12'];

let env: IntelTestEnv;
let stub: StubServer;
before(async () => {
  env = await intelTestEnv();
  // No warning lists: the private 10.0.0.0/8 and 0.0.0.0/0 are then stopped by the prefix limit alone (or stored, when allowed).
  env.rt.warnings = loadWarningLists(join(env.tmp, 'no-warning-lists'), { addresses: [], domains: [] });
  stub = await startStub((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(LIST);
  });
});
after(async () => {
  await stub.close();
  await env.client.close();
});

async function stored(value: string): Promise<boolean> {
  const type = value.includes(':') ? 'ipv6-addr' : 'ipv4-addr';
  return !!(await new IndicatorStore(env.client, env.namespace).get(`${type}:${value}`));
}

test('by default a feed stores neither 10.0.0.0/8 nor 0.0.0.0/0 (nor any range broader than /16 or /48): counted, with the reason', async () => {
  const r = await syncFeed(env.rt, env.feed({ name: 'ranges_default', kind: 'plain', url: `${stub.url}/ranges.txt` }));
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.added, 2);
  assert.equal(r.counts.rejected, 4);
  for (const range of BROAD) assert.equal(await stored(range), false, `${range} is not stored`);
  assert.equal(await stored('198.51.100.0/24'), true);
  assert.equal(await stored('2a01:4f8:1:2::/64'), true);

  const state = await readFeedState(env.client, env.namespace, 'ranges_default');
  assert.deepEqual(state?.rejected_samples, [
    '10.0.0.0/8 is broader than /16, the widest IPv4 range this feed accepts (its max_prefix or allow_broad_ranges can allow it)',
    '0.0.0.0/0 is broader than /16, the widest IPv4 range this feed accepts (its max_prefix or allow_broad_ranges can allow it)',
    '45.0.0.0/8 is broader than /16, the widest IPv4 range this feed accepts (its max_prefix or allow_broad_ranges can allow it)',
    '2a00::/12 is broader than /48, the widest IPv6 range this feed accepts (its max_prefix or allow_broad_ranges can allow it)',
  ]);
  // The one-line run report (`nyx feeds sync`) says why, too.
  assert.match(describeRun(r), /^ok: added 2, .*rejected 4 \(10\.0\.0\.0\/8 is broader than \/16, [^;]*; 0\.0\.0\.0\/0 is broader than \/16, [^;]*; …\), skipped 0$/);
});

test('a feed that allows broad ranges stores them; one with its own max_prefix stores what fits it', async () => {
  const allowed = await syncFeed(env.rt, env.feed({ name: 'ranges_allowed', kind: 'plain', url: `${stub.url}/ranges.txt`, allow_broad_ranges: true }));
  assert.equal(allowed.result, 'ok', allowed.error);
  assert.equal(allowed.counts.rejected, 0, JSON.stringify(allowed.rejected_samples));
  assert.equal(allowed.counts.added, 6);
  for (const range of BROAD) assert.equal(await stored(range), true, `${range} is stored when the feed allows broad ranges`);

  env.namespace = `${env.namespace}x`;
  env.rt.namespace = env.namespace;
  const eight = await syncFeed(env.rt, env.feed({ name: 'ranges_eight', kind: 'plain', url: `${stub.url}/ranges.txt`, max_prefix: { ipv4: 8, ipv6: 12 } }));
  assert.equal(eight.result, 'ok', eight.error);
  assert.equal(eight.counts.added, 5);
  assert.equal(eight.counts.rejected, 1);
  assert.deepEqual(eight.rejected_samples, ['0.0.0.0/0 is broader than /8, the widest IPv4 range this feed accepts (its max_prefix or allow_broad_ranges can allow it)']);
  assert.equal(await stored('10.0.0.0/8'), true);
  assert.equal(await stored('0.0.0.0/0'), false);
});

test('nyx feeds sync prints the refusal; intel.max_prefix changes the default and a bad value is a config error naming the key', async () => {
  const dir = join(env.tmp, 'cli');
  const feedsDir = join(dir, 'feeds');
  mkdirSync(feedsDir, { recursive: true });
  writeFileSync(join(feedsDir, 'ranges.yml'), ['name: ranges', 'kind: plain', `url: ${stub.url}/ranges.txt`, 'expiry_days: 3650', ''].join('\n'));
  const config = join(dir, 'nyx.yml');
  const write = (maxPrefix: string) => writeFileSync(config, [`namespace: ${env.namespace}cli`, 'intel:', `  feeds_dir: ${JSON.stringify(feedsDir)}`, `  max_prefix: ${maxPrefix}`, ''].join('\n'));
  const cliEnv = { ELASTICSEARCH_URL: testElasticUrl(), NYX_CONFIG: config };

  write('{ ipv4: 24, ipv6: 64 }');
  const r = await runNyx(['feeds', 'sync', 'ranges'], cliEnv);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ranges: ok: added 2, updated 0, unchanged 0, expired 0, rejected 4 \(10\.0\.0\.0\/8 is broader than \/24, the widest IPv4 range this feed accepts \(its max_prefix or allow_broad_ranges can allow it\); 0\.0\.0\.0\/0 is broader than \/24, .*; …\), skipped 0$/m);

  write('{ ipv4: 33 }');
  const bad = await runNyx(['feeds', 'sync', 'ranges'], cliEnv);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /intel\.max_prefix\.ipv4/);
});
