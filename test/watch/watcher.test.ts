import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueNamespace } from '../support/elastic.ts';
import { loadAlertPolicy } from '../../src/alerts/index.ts';
import { RuleWatcher, checkpointKey, watchStatus } from '../../src/detection/watch/index.ts';
import { StateStore } from '../../src/coordination/index.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { writeSourceEvents } from '../../src/ingest/bulk-writer.ts';
import { packRule, ruleTestEvents } from '../alerts/support.ts';
import { alertsIn, bootstrapped, indexEcs, testConfig, watchSettings } from './support.ts';

const policy = loadAlertPolicy();
after(async () => (await bootstrapped()).client.close());

test('a rule fires on ingested data: one watcher cycle stores an ECS alert with MITRE, score and evidence; a retry and a second replica add nothing', async () => {
  const { client, caps } = await bootstrapped();
  const ns = uniqueNamespace('wf');
  const rule = packRule('win_lolbin_certutil_download');
  const now = Date.now();
  const positive = ruleTestEvents('win_lolbin_certutil_download').positive[0]!;
  const negative = ruleTestEvents('win_lolbin_certutil_download').negative[0]!;
  const pipelines = SourcePipelines.create(testConfig(), caps);
  const report = await writeSourceEvents(client, pipelines, {
    source: 'endpoint',
    namespace: ns,
    refresh: true,
    events: [
      { id: `${ns}-1`, doc: { ...positive, '@timestamp': new Date(now - 30_000).toISOString(), user: { name: 'alice' } } },
      { id: `${ns}-2`, doc: { ...negative, '@timestamp': new Date(now - 20_000).toISOString() } },
    ],
  });
  assert.equal(report.indexed, 2);

  const settings = watchSettings(ns, { namespaces: [ns], shards: 1 });
  const watcher = new RuleWatcher({ client, rules: [rule], policy, settings, defaultNamespace: 'default', holder: `${ns}-a` });
  const [first] = await watcher.runCycle({ force: true });
  assert.equal(first!.created, 1, JSON.stringify(first));
  assert.equal(first!.hits, 1, 'the negative event is not a hit');

  const [alert] = await alertsIn(client, ns);
  const src = alert!._source as Record<string, any>;
  assert.equal(src.event.kind, 'alert');
  assert.equal(src.rule.id, rule.rule.id);
  assert.equal(src.host.name, 'ws01');
  assert.equal(src.user.name, 'alice');
  assert.match(src.process.command_line, /certutil/);
  assert.ok(src.threat.technique.id.includes('T1105'));
  assert.ok(src.threat.tactic.name.length > 0);
  assert.ok(src.event.risk_score > 0 && src.event.risk_score <= 100);
  assert.ok(src.nyx.alert.signals.signals.length >= 1, 'the signals behind the score are on the alert');
  assert.deepEqual(src.nyx.alert.evidence.event_ids, [`${ns}-1`]);
  assert.deepEqual(src.nyx.alert.evidence.indices, [`logs-endpoint-${ns}`]);
  assert.equal(src.nyx.alert.namespace, ns);
  assert.equal(src.nyx.alert.status, 'open');

  // Retry: the same replica runs again over the overlap; a second replica runs the same rule.
  const [again] = await watcher.runCycle({ force: true });
  const other = new RuleWatcher({ client, rules: [rule], policy, settings, defaultNamespace: 'default', holder: `${ns}-b` });
  const second = await other.runRule(other.rules[0]!, undefined);
  assert.equal(again!.created, 0);
  assert.equal(second.created, 0);
  assert.equal(second.duplicates, 1);
  assert.equal((await alertsIn(client, ns)).length, 1);
  await watcher.stop();
});

test('after downtime the watcher finds the gap, catches up slice by slice, and says so in its status', async () => {
  const { client } = await bootstrapped();
  const ns = uniqueNamespace('wg');
  const rule = packRule('win_lolbin_certutil_download');
  const positive = ruleTestEvents('win_lolbin_certutil_download').positive[0]!;
  const now = Date.now();
  const hours = (h: number): number => now - h * 3_600_000;
  // Events while the watcher was down: 5h and 2h ago, on two hosts.
  await indexEcs(client, [
    { index: `logs-endpoint-${ns}`, doc: { ...positive, '@timestamp': new Date(hours(5)).toISOString(), host: { name: 'gap-a' } } },
    { index: `logs-endpoint-${ns}`, doc: { ...positive, '@timestamp': new Date(hours(2)).toISOString(), host: { name: 'gap-b' } } },
  ]);
  const settings = watchSettings(ns, { namespaces: [ns], shards: 1, interval_seconds: 60, catchup_slice_seconds: 3600 });
  // The last run, 6h ago.
  const state = new StateStore(client);
  await state.put(checkpointKey(ns, rule.rule.id!), 'watch-checkpoint', {
    rule_id: rule.rule.id, checkpoint: new Date(hours(6)).toISOString(), last_run_at: new Date(hours(6)).toISOString(), last_run_ms: 5, last_hits: 0, last_alerts: 0, last_duplicates: 0, last_capped: 0, holder: 'gone',
  });
  const watcher = new RuleWatcher({ client, rules: [rule], policy, settings, defaultNamespace: 'default', holder: `${ns}-a` });
  const [run] = await watcher.runCycle();
  assert.ok(run!.gapSeconds! >= 6 * 3600 - 5, `gap reported: ${JSON.stringify(run)}`);
  assert.equal(run!.created, 2);
  assert.ok(run!.slices >= 6, 'searched in slices');
  const [status] = await watchStatus(client, [rule], settings);
  assert.match(status!.gap!, /caught up/);
  assert.equal(status!.holder, `${ns}-a`);
  assert.ok(status!.lag_seconds! < 60);
  await watcher.stop();
});

test('the alerts-per-run cap is visible: the rest are counted, not written', async () => {
  const { client } = await bootstrapped();
  const ns = uniqueNamespace('wc');
  const rule = packRule('win_lolbin_certutil_download');
  const positive = ruleTestEvents('win_lolbin_certutil_download').positive[0]!;
  const at = new Date(Date.now() - 10_000).toISOString();
  await indexEcs(client, Array.from({ length: 7 }, (_, i) => ({ index: `logs-endpoint-${ns}`, doc: { ...positive, '@timestamp': at, host: { name: `cap-${i}` } } })));
  const settings = watchSettings(ns, { namespaces: [ns], shards: 1, max_alerts_per_run: 3 });
  const watcher = new RuleWatcher({ client, rules: [rule], policy, settings, defaultNamespace: 'default' });
  const [run] = await watcher.runCycle({ force: true });
  assert.equal(run!.created, 3, JSON.stringify(run));
  assert.equal(run!.capped, 4);
  const [status] = await watchStatus(client, [rule], settings);
  assert.equal(status!.last_capped, 4);
  await watcher.stop();
});

test("a rule's alert goes to the tenant whose data stream holds the event, not the one its data_stream.namespace field names", async () => {
  const { client } = await bootstrapped();
  const nsA = uniqueNamespace('wta');
  const nsB = uniqueNamespace('wtb');
  const rule = packRule('win_lolbin_certutil_download');
  const positive = ruleTestEvents('win_lolbin_certutil_download').positive[0]!;
  // A document in A's data stream whose field says B (what an agent of A got stored before the ingest path owned
  // data_stream, and what any other writer of the data stream can still store).
  await indexEcs(client, [{ index: `logs-endpoint-${nsA}`, doc: { ...positive, '@timestamp': new Date(Date.now() - 30_000).toISOString(), data_stream: { type: 'logs', dataset: 'endpoint', namespace: nsB } } }]);
  const watcher = new RuleWatcher({ client, rules: [rule], policy, settings: watchSettings(nsA, { namespaces: [nsA], shards: 1 }), defaultNamespace: 'default', holder: `${nsA}-a` });
  const [report] = await watcher.runCycle({ force: true });
  await watcher.stop();
  assert.equal(report!.created, 1, JSON.stringify(report));
  assert.deepEqual(await alertsIn(client, nsB), []);
  const [alert] = await alertsIn(client, nsA);
  const src = alert!._source as { nyx: { alert: { namespace: string; evidence: { indices: string[] } } } };
  assert.equal(src.nyx.alert.namespace, nsA);
  assert.deepEqual(src.nyx.alert.evidence.indices, [`logs-endpoint-${nsA}`]);
});
