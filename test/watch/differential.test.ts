import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueNamespace } from '../support/elastic.ts';
import { idOfAlert, loadAlertPolicy } from '../../src/alerts/index.ts';
import { RuleWatcher } from '../../src/detection/watch/index.ts';
import { createStreamDetector } from '../../src/detection/stream/index.ts';
import { packRules, ruleTestEvents } from '../alerts/support.ts';
import { alertsIn, bootstrapped, indexEcs, watchSettings } from './support.ts';
import { basename } from 'node:path';

after(async () => (await bootstrapped()).client.close());

test('stream path and watcher query path, end to end through alerts, agree on every alert of the rule pack corpus', async () => {
  const { client } = await bootstrapped();
  const ns = uniqueNamespace('wd');
  const policy = loadAlertPolicy();
  const rules = packRules();
  const at = new Date(Date.now() - 60_000).toISOString();
  // Every pack rule's positive and negative events, each on its own host, in the rule's first data stream.
  const items: Array<{ index: string; doc: Record<string, unknown> }> = [];
  let n = 0;
  for (const rule of rules) {
    const events = ruleTestEvents(basename(rule.rule.file).replace(/\.yml$/, ''));
    for (const doc of [...events.positive, ...events.negative]) {
      const index = rule.indices[0]!.replace('*', ns);
      const [type, dataset] = index.split('-');
      items.push({ index, doc: { ...doc, '@timestamp': at, host: { name: `h${n++}` }, data_stream: { type, dataset, namespace: ns } } });
    }
  }
  await indexEcs(client, items);

  // Query path first: it stores the alerts.
  const watcher = new RuleWatcher({ client, rules, policy, settings: watchSettings(ns, { namespaces: [ns], shards: 1 }), defaultNamespace: 'default' });
  const reports = await watcher.runCycle({ force: true });
  await watcher.stop();
  assert.equal(reports.length, rules.length);
  assert.deepEqual(reports.filter((r) => r.error), []);
  const queryIds = new Set(reports.flatMap((r) => r.alertIds));
  const stored = await alertsIn(client, ns);
  assert.equal(stored.length, queryIds.size);

  // Stream path over the same events, per data stream, as `nyx serve` would run it: same ids, nothing new written.
  const detector = createStreamDetector({ client, rules, policy, refresh: true });
  const byStream = new Map<string, Array<Record<string, unknown>>>();
  for (const i of items) byStream.set(i.index, [...(byStream.get(i.index) ?? []), i.doc]);
  const streamIds = new Set<string>();
  const streamRule = new Map<string, string>();
  for (const [dataStream, docs] of byStream) {
    const alerts = await detector.detect(docs, { namespace: ns, source: dataStream.split('-')[1] as 'endpoint', dataStream, agentId: 'diff', normalised: true });
    for (const a of alerts) {
      streamIds.add(idOfAlert(a));
      streamRule.set(idOfAlert(a), `${a.rule.name} @ ${a.nyx.alert.entity} in ${dataStream}`);
    }
  }
  assert.ok(streamIds.size >= rules.length, `every rule fires on its positives (${streamIds.size} alerts for ${rules.length} rules)`);
  const onlyStream = [...streamIds].filter((id) => !queryIds.has(id)).map((id) => streamRule.get(id));
  const storedRule = new Map(stored.map((a) => [a._id, `${(a._source.rule as { name: string }).name} @ ${(a._source.nyx as { alert: { entity: string } }).alert.entity}`]));
  const onlyQuery = [...queryIds].filter((id) => !streamIds.has(id)).map((id) => storedRule.get(id));
  assert.deepEqual({ onlyStream, onlyQuery }, { onlyStream: [], onlyQuery: [] });
  assert.deepEqual([...streamIds].sort(), [...queryIds].sort());
  assert.equal(detector.stats.created, 0, 'the stream path found every alert already written');
  assert.equal((await alertsIn(client, ns)).length, queryIds.size);
});
