import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { alertIndex } from '../../src/alerts/index.ts';
import { actionId, ResponseEngine } from '../../src/response/engine.ts';
import { ResponseWorker } from '../../src/response/worker.ts';
import { loadPlaybooks } from '../../src/response/playbook.ts';
import { registerBuiltinDrivers } from '../../src/response/builtin.ts';
import { testClient } from '../support/elastic.ts';
import { TheHiveStub } from '../stubs/thehive/server.ts';
import { FakeFirewall, TestClock, dropTestNamespaces, installResponseTemplates, testNamespace, putAlert, responseConfig, sampleAlert } from './support.ts';

// End to end over the real Elasticsearch: alert document → `nyx respond` pass → TheHive (stub) → block (in-memory
// block_ip until the nftables driver lands) → complete audit record → TTL release. Shipped playbooks, as data.
const client = testClient();
const hive = new TheHiveStub('e2e-hive-key');
const playbooks = loadPlaybooks();
let hiveUrl = '';

before(async () => {
  await installResponseTemplates(client);
  hiveUrl = await hive.start();
});
after(async () => {
  await hive.stop();
  await dropTestNamespaces(client);
});

function setup(ns: string, clock: TestClock, fw: FakeFirewall, holder = 'replica-a', over: Record<string, unknown> = {}) {
  const config = responseConfig({ thehive: { url: hiveUrl }, ...over });
  registerBuiltinDrivers(config, { NYX_THEHIVE_API_KEY: 'e2e-hive-key' });
  // The in-memory firewall replaces the shipped block_ip (nftables) for this test process.
  fw.register();
  const engine = new ResponseEngine({ client, namespace: ns, config, playbooks, holder, refresh: 'wait_for', now: clock.now });
  const worker = new ResponseWorker(engine, { client, namespace: ns, pollIntervalMs: 1000, lookbackSeconds: 300, batchSize: 500 });
  return { engine, worker };
}

test('alert → brute-force playbook → TheHive alert + block → complete audit record → released at TTL end', async () => {
  const ns = testNamespace('e2e');
  const fw = new FakeFirewall();
  const clock = new TestClock();
  const { engine, worker } = setup(ns, clock, fw);
  const alert = sampleAlert(ns, { ip: '203.0.113.99' });
  await putAlert(client, ns, 'bf-1', alert);

  const tick = await worker.tick();
  assert.equal(tick.runs.length, 1);
  assert.deepEqual(tick.runs[0]!.steps.map((s) => [s.step, s.status]), [['thehive', 'applied'], ['block-source', 'applied']]);

  const hiveAlert = [...hive.alerts.values()].find((a) => a.sourceRef === 'bf-1');
  assert.ok(hiveAlert, 'TheHive has the alert with sourceRef = the Nyx alert id');
  assert.ok(hiveAlert.observables.some((o) => o.dataType === 'ip' && o.data === '203.0.113.99'));
  assert.deepEqual([...fw.blocked], ['203.0.113.99']);
  // The block's outcome went to TheHive too (a comment on the alert: no case for a Constrain playbook).
  assert.match(hiveAlert.comments.join('\n'), /brute-force-block\/block-source \(block_ip, level constrain\): applied — blocked 203.0.113.99/);

  const id = actionId('bf-1', 'brute-force-block', 'block-source');
  const rec = (await engine.store.getAction(id))!.record;
  assert.equal(rec.status, 'applied');
  assert.deepEqual(rec.alert, { id: 'bf-1', rule_id: alert.rule.id, rule_name: alert.rule.name, severity: 73, risk_score: 81, entity: '203.0.113.99' });
  assert.equal(rec.playbook, 'brute-force-block');
  assert.equal(rec.level, 'constrain');
  assert.deepEqual(rec.approval, { required: false, decision: 'unattended' });
  assert.deepEqual(rec.target, { kind: 'ip', value: '203.0.113.99' });
  assert.deepEqual(rec.params, { ip: '203.0.113.99', ttl_seconds: 3600, alert_id: 'bf-1', reason: 'brute force: SSH Brute Force From One Source' });
  assert.deepEqual(rec.calls, [{ description: 'fake-fw add 203.0.113.99', status: 0, result: 'added' }]);
  assert.equal(rec.expires_at, new Date(clock.t + 3_600_000).toISOString());
  assert.match(rec.undo_hint ?? '', new RegExp(`nyx actions undo ${id} \\(released automatically at `));
  const applied = (await engine.store.auditTrail(id))[0]!;
  assert.equal(applied.event, 'applied');
  assert.equal(applied.actor, 'replica-a');

  const notes = (await client.get<{ nyx: { response: { notes: Array<{ step: string; status: string }>; actions: string[] } } }>({ index: alertIndex(ns), id: 'bf-1' }))._source!.nyx.response;
  assert.deepEqual(notes.notes.map((n) => `${n.step}:${n.status}`), ['thehive:applied', 'block-source:applied']);

  // A second pass re-reads the alert (lookback) and does nothing again.
  const again = await worker.tick();
  assert.equal(again.runs.length, 0);
  assert.equal(hive.requests.filter((r) => r.path === '/api/v1/alert' && (r.body as { sourceRef: string }).sourceRef === 'bf-1').length, 1);

  clock.advance(3_600_001);
  const later = await worker.tick();
  assert.equal(later.released, 1);
  assert.deepEqual([...fw.blocked], []);
  assert.deepEqual((await engine.store.auditTrail(id)).map((t) => t.event), ['applied', 'released']);
  assert.equal((await engine.store.getAction(id))!.record.status, 'released');
});

test('two respond loops racing over the same alerts: every action runs exactly once, under its deterministic id', async () => {
  const ns = testNamespace('e2e');
  const fw = new FakeFirewall();
  const clock = new TestClock();
  const a = setup(ns, clock, fw, 'replica-a');
  const b = setup(ns, clock, fw, 'replica-b');
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) {
    const id = `race-${ns}-${i}`;
    ids.push(id);
    await putAlert(client, ns, id, sampleAlert(ns, { ip: `198.51.100.${150 + i}` }));
  }
  const hiveBefore = hive.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/alert').length;
  await Promise.all([a.worker.tick(), b.worker.tick(), a.worker.tick(), b.worker.tick()]);
  await Promise.all([a.worker.tick(), b.worker.tick()]);
  assert.equal(fw.applied.length, 8, 'each IP blocked once');
  assert.equal(new Set(fw.applied).size, 8);
  assert.equal(hive.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/alert').length - hiveBefore, 8, 'one TheHive create per alert');
  const records = await a.engine.store.listActions({ playbook: 'brute-force-block' });
  assert.deepEqual(records.map((r) => r.id).sort(), ids.flatMap((id) => ['thehive', 'block-source'].map((s) => actionId(id, 'brute-force-block', s))).sort());
  const holders = new Set(records.map((r) => r.holder));
  assert.ok(holders.size >= 1);
});

test('TheHive down: its step fails (audited, noted), the block still happens as the playbook declares (on_error: continue)', async () => {
  const ns = testNamespace('e2e');
  const fw = new FakeFirewall();
  const { engine, worker } = setup(ns, new TestClock(), fw);
  hive.failWith = 503;
  try {
    await putAlert(client, ns, 'down-1', sampleAlert(ns, { ip: '203.0.113.120' }));
    const tick = await worker.tick();
    assert.deepEqual(tick.runs[0]!.steps.map((s) => [s.step, s.status]), [['thehive', 'failed'], ['block-source', 'applied']]);
  } finally {
    hive.failWith = undefined;
  }
  assert.deepEqual([...fw.blocked], ['203.0.113.120']);
  const failed = await engine.store.auditFor({ alertId: 'down-1', event: 'failed' });
  assert.match(failed[0]!.reason ?? '', /TheHive: TheHive alert create: HTTP 503/);
});

test('compromised account: a case with tasks; each later outcome is logged on its response task; the lock waits for approval', async () => {
  const ns = testNamespace('e2e');
  const clock = new TestClock();
  const { engine, worker } = setup(ns, clock, new FakeFirewall());
  await putAlert(client, ns, 'ca-1', sampleAlert(ns, { ip: '203.0.113.130', user: 'bob', rule: 'ef983200-b663-4684-8ac2-bb606b89df7a' }));
  const tick = await worker.tick();
  const run = tick.runs.find((r) => r.playbook === 'compromised-account')!;
  assert.deepEqual(run.steps.map((s) => [s.step, s.status]), [['thehive-case', 'applied'], ['block-source', 'applied'], ['lock-account', 'awaiting_approval']]);
  const hiveAlert = [...hive.alerts.values()].find((a) => a.sourceRef === 'ca-1')!;
  const hiveCase = hive.cases.get(hiveAlert.caseId!)!;
  assert.deepEqual(hiveCase.tasks.map((t) => t.title), ['Confirm the login with the account owner', 'Reset the password and revoke sessions and keys', "Review the account's activity since the login", 'Nyx automated response']);
  const logs = hiveCase.tasks.at(-1)!.logs;
  assert.equal(logs.length, 2);
  assert.match(logs[0]!, /compromised-account\/block-source \(block_ip, level constrain\): applied/);
  assert.match(logs[1]!, /compromised-account\/lock-account \(disable_account, level contain\): awaiting_approval/);
  const lock = (await engine.store.getAction(actionId('ca-1', 'compromised-account', 'lock-account')))!.record;
  assert.deepEqual(lock.calls, [{ description: 'usermod -L bob', request: { argv: ['usermod', '-L', 'bob'] } }], 'the approval shows what would run');
  // Case status read back through the driver (for MTTR).
  const hiveStatus = await engine.status(actionId('ca-1', 'compromised-account', 'thehive-case'));
  assert.equal(hiveStatus.active, true);
  hive.closeCase(hiveCase._id);
  assert.equal((await engine.status(actionId('ca-1', 'compromised-account', 'thehive-case'))).active, false);
});
