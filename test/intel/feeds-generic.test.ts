import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LeaseStore } from '../../src/coordination/index.ts';
import { FeedScheduler, IndicatorStore, importIndicators, readFeedState, syncFeed, type FeedRunResult } from '../../src/intel/index.ts';
import { feedLeaseName } from '../../src/intel/feeds/runner.ts';
import { runNyx } from '../support/cli.ts';
import { testElasticUrl } from '../support/elastic.ts';
import { intelTestEnv, type IntelTestEnv } from './support/setup.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
let env: IntelTestEnv;
before(async () => {
  env = await intelTestEnv();
});

test('plain list: one value per line, comments skipped, types detected, defanged values refanged', async () => {
  const file = join(env.tmp, 'list.txt');
  writeFileSync(file, ['# Feodo-style blocklist', '192.0.2.10', '192.0.2.11 # trailing note', '', 'bad-host.test', 'hxxp://bad-host[.]test/a', '44d88612fea8a8f36de82e1278abb02f', '10.0.0.1', 'not a value!'].join('\n'));
  const r = await syncFeed(env.rt, env.feed({ name: 'plain', kind: 'plain', url: file }));
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.added, 5);
  assert.equal(r.counts.skipped, 1);
  assert.equal(r.counts.rejected, 1);
  const store = new IndicatorStore(env.client, env.namespace);
  assert.ok(await store.get('url:http://bad-host.test/a'));
  assert.equal((await store.get('file:44d88612fea8a8f36de82e1278abb02f'))?.threat.indicator.file?.hash.md5, '44d88612fea8a8f36de82e1278abb02f');
});

test('CSV with a column mapping (URLhaus dump layout, header as a comment) and JSON with a mapping', async () => {
  const csv = join(env.tmp, 'urlhaus.csv');
  writeFileSync(
    csv,
    [
      '################################################################',
      '# abuse.ch URLhaus Database Dump (CSV)                          #',
      '# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter',
      '"2750010","2023-11-20 10:14:07","http://203.0.113.90/i","online","2023-11-20 10:14:07","malware_download","elf","https://urlhaus.abuse.ch/url/2750010/","lrz_urlhaus"',
      '"2750011","2023-11-20 10:15:07","http://203.0.113.91/i","online","2023-11-20 10:14:07","malware_download","elf,mirai","https://urlhaus.abuse.ch/url/2750011/","lrz_urlhaus"',
      '"2750012","not a date","http://203.0.113.92/i","online","","malware_download","","",""',
      '"2750013","2023-11-20 10:15:07","http://203.0.113.93/i',
    ].join('\n'),
  );
  const r = await syncFeed(
    env.rt,
    env.feed({ name: 'urlhaus_csv', kind: 'csv', url: csv, csv: { header: false }, mapping: { value: 2, type: 'url', first_seen: 1, last_seen: 4, description: 5, tags: 6, reference: 7, id: 0 } }),
  );
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.added, 2);
  assert.equal(r.counts.rejected, 2);
  const state = await readFeedState(env.client, env.namespace, 'urlhaus_csv');
  assert.ok(state?.rejected_samples.some((s) => /first_seen: not a date/.test(s)));
  assert.ok(state?.rejected_samples.some((s) => /broken CSV quoting/.test(s)));
  const doc = await new IndicatorStore(env.client, env.namespace).get('url:http://203.0.113.91/i');
  assert.deepEqual(doc?.nyx.indicator.tags, ['elf', 'mirai']);

  const json = join(env.tmp, 'feed.json');
  writeFileSync(json, JSON.stringify({ meta: { generated: 'now' }, result: { items: [{ indicator: { kind: 'domain', v: 'json-bad.test' }, score: 65 }, { indicator: { kind: 'ipv4', v: '192.0.2.99' } }, { indicator: {} }] } }));
  const j = await syncFeed(env.rt, env.feed({ name: 'json_feed', kind: 'json', url: `file://${json}`, json: { items: 'result.items' }, mapping: { value: 'indicator.v', type_field: 'indicator.kind', confidence: 'score' } }));
  assert.equal(j.result, 'ok', j.error);
  assert.equal(j.counts.added, 2);
  assert.equal(j.counts.rejected, 1);
  assert.equal((await new IndicatorStore(env.client, env.namespace).get('domain-name:json-bad.test'))?.nyx.indicator.confidence_score, 65);
});

test('STIX 2.1 bundle: patterns with OR, hashes, TLP markings (well-known and in-bundle), revoked; others rejected', async () => {
  const r = await syncFeed(env.rt, env.feed({ name: 'stix', kind: 'stix', url: join(FIXTURES, 'stix-bundle.json') }));
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.added, 5); // url, 198.51.100.1, 2001:db8::bad, sha256, revoked domain
  assert.equal(r.counts.skipped, 1); // 203.0.113.0/24 overlaps our own address 203.0.113.250
  assert.equal(r.counts.rejected, 2); // snort pattern, process:name
  const store = new IndicatorStore(env.client, env.namespace);
  assert.equal((await store.get('url:http://x4z9arb.cn/4712/'))?.threat.indicator.marking?.tlp, 'GREEN');
  assert.equal((await store.get('url:http://x4z9arb.cn/4712/'))?.nyx.indicator.confidence_score, 85);
  assert.equal((await store.get('ipv4-addr:198.51.100.1'))?.threat.indicator.marking?.tlp, 'AMBER');
  assert.ok(await store.get('ipv6-addr:2001:db8::bad'));
  assert.ok(await store.get('file:fe90a7e910cb3a4739bed9180e807e93fa70c90f25a8915476f5e4bfbac681db'));
  assert.equal((await store.get('domain-name:revoked.example-bad.test'))?.nyx.indicator.revoked, true);
});

test('analyst import (CSV and JSON): type, value, source, confidence; bad rows reported; fuses with feeds', async () => {
  const csv = await importIndicators(env.rt, join(FIXTURES, 'analyst.csv'), { format: 'csv' });
  assert.equal(csv.result, 'ok', csv.error);
  assert.equal(csv.counts.added, 4);
  assert.equal(csv.counts.rejected, 2); // 999.1.1.1, broken quoting
  assert.equal(csv.counts.skipped, 1); // our own domain
  const json = await importIndicators(env.rt, join(FIXTURES, 'analyst.json'), { format: 'json', feed: 'hunt' });
  assert.equal(json.result, 'ok', json.error);
  assert.equal(json.counts.added, 3);
  assert.equal(json.counts.rejected, 2);
  assert.equal(json.counts.skipped, 1);
  const store = new IndicatorStore(env.client, env.namespace);
  const ip = await store.get('ipv4-addr:203.0.113.77');
  assert.deepEqual(ip?.nyx.indicator.providers, ['SOC triage']);
  assert.equal(ip?.threat.indicator.marking?.tlp, 'AMBER');
  // phish-kit.test came from both lists: one indicator, two providers, fused confidence.
  const domain = await store.get('domain-name:phish-kit.test');
  assert.deepEqual(domain?.nyx.indicator.providers, ['SOC triage', 'hunt team']);
  assert.equal(domain?.nyx.indicator.confidence_score, 85); // 1 - 0.3*0.5 (70 default, 50)
  assert.ok(await store.get('file:fe90a7e910cb3a4739bed9180e807e93fa70c90f25a8915476f5e4bfbac681db'));
});

test('a feed whose lease another replica holds is skipped, not synced twice', async () => {
  const feed = env.feed({ name: 'leased', kind: 'plain', url: join(FIXTURES, 'analyst.csv') });
  const other = new LeaseStore(env.client, 'replica-b');
  assert.ok(await other.acquire(feedLeaseName(env.namespace, 'leased'), 60_000));
  const r = await syncFeed(env.rt, feed);
  assert.equal(r.result, 'skipped');
  assert.match(r.reason ?? '', /replica-b/);
  assert.equal(await readFeedState(env.client, env.namespace, 'leased'), undefined);
  await other.release(feedLeaseName(env.namespace, 'leased'));
  // Two replicas racing: exactly one syncs.
  const [a, b] = await Promise.all([syncFeed({ ...env.rt, holder: 'replica-1' }, feed), syncFeed({ ...env.rt, holder: 'replica-2' }, feed)]);
  assert.deepEqual([a.result, b.result].sort(), ['ok', 'skipped']);
});

test('CLI: nyx feeds sync runs the YAML feeds and nyx feeds status shows each one, failures included', async () => {
  const dir = join(env.tmp, 'cli');
  mkdirSync(join(dir, 'feeds'), { recursive: true });
  writeFileSync(join(dir, 'feeds', 'local.yml'), `name: local_list\nkind: plain\nurl: ${join(FIXTURES, 'analyst.csv')}\nschedule: "*/30 * * * *"\nexpiry_days: 3650\n`);
  writeFileSync(join(dir, 'feeds', 'broken.yml'), `name: gone\nkind: feodo\nurl: http://127.0.0.1:1/ipblocklist.json\nlimits: { timeout_ms: 2000, retries: 0 }\n`);
  writeFileSync(join(dir, 'nyx.yml'), `namespace: ${env.namespace}\nintel:\n  feeds_dir: ${join(dir, 'feeds')}\n`);
  const e = { ELASTICSEARCH_URL: testElasticUrl() };
  const sync = await runNyx(['feeds', 'sync'], e, dir);
  assert.equal(sync.code, 1, sync.stderr);
  assert.match(sync.stdout, /gone: error \(unreachable\)/);
  assert.match(sync.stdout, /local_list: ok: added \d+/);
  const status = await runNyx(['feeds', 'status'], e, dir);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^FEED\s+KIND\s+LAST RUN\s+RESULT/m);
  assert.match(status.stdout, /gone\s+feodo\s+\S+ ago\s+error:unreachable/);
  assert.match(status.stdout, /local_list\s+plain\s+\S+ ago\s+ok/);
  const one = await runNyx(['feeds', 'sync', 'nope'], e, dir);
  assert.equal(one.code, 1);
  assert.match(one.stderr, /^nyx: no feed named nope/);
  const bad = join(dir, 'feeds', 'bad.yml');
  writeFileSync(bad, 'name: Bad-Name\nkind: plain\nurl: x\n');
  const invalid = await runNyx(['feeds', 'list'], e, dir);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /bad\.yml: name: expected lowercase/);
});

test('the schedule (nyx feeds run / nyx up) syncs each feed and expires indicators of every feed', async () => {
  const file = join(env.tmp, 'scheduled.txt');
  writeFileSync(file, '192.0.2.150\n192.0.2.151\n');
  const feed = env.feed({ name: 'scheduled', kind: 'plain', url: file, schedule: '0 0 1 1 *', expiry_days: 1 });
  const done = new Promise<FeedRunResult>((resolve) => {
    const scheduler = new FeedScheduler(env.rt, [feed], (r) => {
      void scheduler.stop().then(() => resolve(r));
    });
    scheduler.start({ runNow: true });
  });
  const r = await done;
  assert.equal(r.result, 'ok', r.error);
  assert.equal(r.counts.added, 2);
  assert.equal((await readFeedState(env.client, env.namespace, 'scheduled'))?.result, 'ok');
  const expired = await new FeedScheduler(env.rt, []).expireAll(new Date(Date.now() + 2 * 86_400_000));
  assert.ok(expired >= 2);
  assert.equal((await new IndicatorStore(env.client, env.namespace).get('ipv4-addr:192.0.2.150'))?.nyx.indicator.active, false);
});
