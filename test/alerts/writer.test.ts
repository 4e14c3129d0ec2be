import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testClient, uniqueNamespace } from '../support/elastic.ts';
import { SigmaRuleSet } from '../../src/detection/sigma/index.ts';
import { buildAlertFromMatch, loadAlertPolicy, writeAlerts, alertIndex, idOfAlert, getAlert, type AlertDocument } from '../../src/alerts/index.ts';
import { packRule, ruleTestEvents } from './support.ts';

const policy = loadAlertPolicy();

function certutilAlert(namespace: string, at: string, host = 'ws01'): AlertDocument {
  const rule = packRule('win_lolbin_certutil_download');
  const event = { ...ruleTestEvents('win_lolbin_certutil_download').positive[0]!, '@timestamp': at, host: { name: host }, user: { name: 'Administrator' } };
  const [match] = new SigmaRuleSet([rule]).match(event);
  assert.ok(match, 'the positive test event matches');
  const alert = buildAlertFromMatch(match, event, { namespace, policy, rule, index: `logs-endpoint-${namespace}`, eventId: 'evt-1' });
  assert.ok(alert);
  return alert;
}

test('an alert built from a Sigma match carries ECS, MITRE, severity, score with its signals, and evidence', () => {
  const alert = certutilAlert('x', '2026-11-20T10:15:00Z');
  assert.equal(alert.event.kind, 'alert');
  assert.equal(alert.rule.name, packRule('win_lolbin_certutil_download').rule.title);
  assert.ok(alert.threat?.technique?.id?.includes('T1105'));
  assert.ok(alert.threat?.tactic?.name?.length, 'a tactic name from rules/mitre/tactics.yml');
  assert.equal(alert.event.severity, 73, 'high → 73');
  assert.equal((alert as { host?: { name?: string } }).host?.name, 'ws01');
  assert.deepEqual(alert.nyx.alert.evidence.event_ids, ['evt-1']);
  assert.ok(Object.keys(alert.nyx.alert.evidence.fields ?? {}).includes('process.command_line'));
  const signals = alert.nyx.alert.signals as { signals: Array<{ name: string }>; context: Array<{ name: string }> };
  assert.ok(signals.signals.some((s) => s.name.startsWith('sigma:')));
  assert.ok(signals.signals.some((s) => s.name === 'network_download_in_command'));
  assert.ok(signals.context.some((c) => c.name === 'privileged_user'));
  assert.ok(alert.event.risk_score >= 75, `risk ${alert.event.risk_score} is at least probable malicious`);
  assert.equal(alert.nyx.alert.entity, 'ws01');
  assert.match(alert.nyx.alert.reason, /ws01/);
});

test('writing the same alert twice (retry, second replica) stores it once; a bad alert fails alone', async () => {
  const client = testClient();
  const ns = uniqueNamespace('alw');
  const a = certutilAlert(ns, '2026-11-20T10:15:00Z');
  const sameWindow = certutilAlert(ns, '2026-11-20T10:45:00Z');
  const otherHost = certutilAlert(ns, '2026-11-20T10:15:00Z', 'ws02');
  assert.equal(idOfAlert(a), idOfAlert(sameWindow), 'same rule + entity + window → same id');
  const broken = { ...a, event: { ...a.event, severity: 'high' } } as unknown as AlertDocument;

  const first = await writeAlerts(client, [a, broken, otherHost], { refresh: true });
  assert.equal(first.created, 2);
  assert.equal(first.failed, 1);
  assert.match(first.failures[0]!.reason, /event\.severity/);

  const second = await Promise.all([writeAlerts(client, [sameWindow], { refresh: true }), writeAlerts(client, [a], { refresh: true })]);
  assert.deepEqual(second.map((r) => [r.created, r.duplicates]), [[0, 1], [0, 1]]);

  const count = await client.count({ index: alertIndex(ns) });
  assert.equal(count.count, 2);
  await client.indices.delete({ index: alertIndex(ns) });
});

test('the same rule, entity and window in two namespaces are two alerts with different ids, each found by id alone', async () => {
  const client = testClient();
  const ns1 = uniqueNamespace('alw');
  const ns2 = uniqueNamespace('alw');
  const a1 = certutilAlert(ns1, '2026-11-20T09:15:00Z', 'shared-host');
  const a2 = certutilAlert(ns2, '2026-11-20T09:15:00Z', 'shared-host');
  // The tenant is part of the id (also TheHive's sourceRef): organisations never share one.
  assert.notEqual(idOfAlert(a1), idOfAlert(a2));
  try {
    assert.equal((await writeAlerts(client, [a1, a2], { refresh: true })).created, 2, 'one per namespace index');
    assert.equal((await getAlert(client, idOfAlert(a1))).alert.nyx.alert.namespace, ns1);
    assert.equal((await getAlert(client, idOfAlert(a2))).alert.nyx.alert.namespace, ns2);
  } finally {
    await client.indices.delete({ index: [alertIndex(ns1), alertIndex(ns2)], ignore_unavailable: true });
  }
});
