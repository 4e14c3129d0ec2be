import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { alertIndex } from '../../src/alerts/index.ts';
import { actionId } from '../../src/response/engine.ts';
import { auditIndex, actionsIndex } from '../../src/response/store.ts';
import type { ActionDriver } from '../../src/response/driver.ts';
import { registerActionDriver } from '../../src/response/drivers/index.ts';
import { registerBuiltinDrivers } from '../../src/response/builtin.ts';
import { testClient } from '../support/elastic.ts';
import { FakeFirewall, TestClock, engine, dropTestNamespaces, installResponseTemplates, testNamespace, playbook, putAlert, responseConfig, sampleAlert } from './support.ts';

const client = testClient();
before(() => installResponseTemplates(client));
after(() => dropTestNamespaces(client));

const blockPlaybook = playbook(`
name: block
level: constrain
trigger: { techniques: [T1110] }
steps:
  - id: block-source
    type: block_ip
    ttl: 1h
    on_error: continue
    params: { ip: "{{source.ip}}", ttl_seconds: "{{$ttl_seconds}}" }
`);

async function count(index: string, query: Record<string, unknown> = { match_all: {} }): Promise<number> {
  try {
    await client.indices.refresh({ index });
    return (await client.count({ index, query })).count;
  } catch {
    return 0;
  }
}

async function alertNotes(ns: string, id: string): Promise<Array<{ step: string; status: string; message: string }>> {
  const doc = await client.get<{ nyx: { response?: { notes: Array<{ step: string; status: string; message: string }> } } }>({ index: alertIndex(ns), id });
  return doc._source?.nyx.response?.notes ?? [];
}

test('a protected address is refused, audited and noted on the alert; the firewall is never called', async () => {
  const ns = testNamespace('resp');
  const fw = new FakeFirewall().register();
  const e = engine(client, ns, [blockPlaybook], responseConfig({ guardrails: { protected_ips: ['10.0.0.0/8', '2001:db8::/32'] } }), { extraProtectedIps: ['192.0.2.10'] });
  for (const [id, ip] of [['a-own', '10.1.2.3'], ['a-v6', '2001:db8::7'], ['a-es', '192.0.2.10']] as const) {
    const alert = sampleAlert(ns, { ip });
    await putAlert(client, ns, id, alert);
    const [run] = await e.handleAlert(id, alert);
    assert.equal(run!.steps[0]!.status, 'refused', ip);
    // The reason names the range and who protects it (issue 19: guardrail defaults).
    assert.match(run!.steps[0]!.summary, /protected_target: .* is (in .* \(listed in response\.guardrails\.protected_ips\)|Nyx's own host)/);
    const trail = await e.store.auditTrail(actionId(id, 'block', 'block-source'));
    assert.deepEqual(trail.map((t) => t.event), ['refused:protected_target']);
    const notes = await alertNotes(ns, id);
    assert.equal(notes[0]?.status, 'refused');
  }
  assert.deepEqual(fw.applied, []);
});

test('an unknown step type and a target the alert cannot give: each audited and noted, the rest runs as declared', async () => {
  const ns = testNamespace('resp');
  registerBuiltinDrivers(responseConfig());
  const fw = new FakeFirewall().register();
  const pb = playbook(`
name: mixed
level: constrain
trigger: { rule_ids: [r1] }
steps:
  - { id: mystery, type: teleport_host, on_error: continue, params: { host: "{{host.name}}" } }
  - { id: block-dest, type: block_ip, on_error: continue, params: { ip: "{{destination.ip}}" } }
  - { id: block-source, type: block_ip, on_error: stop, params: { ip: "{{source.ip}}" } }
  - { id: lock, type: disable_account, params: { user: "{{user.name}}" } }
`);
  const e = engine(client, ns, [pb], responseConfig());
  const alert = sampleAlert(ns, { ip: '203.0.113.20', rule: 'r1' });
  await putAlert(client, ns, 'm1', alert);
  const [run] = await e.handleAlert('m1', alert);
  assert.deepEqual(run!.steps.map((s) => [s.step, s.status]), [['mystery', 'refused'], ['block-dest', 'refused'], ['block-source', 'applied'], ['lock', 'awaiting_approval']]);
  assert.match(run!.steps[0]!.summary, /unknown step type "teleport_host"/);
  assert.match(run!.steps[1]!.summary, /cannot derive the target: the alert has no destination.ip/);
  assert.deepEqual(fw.applied, ['203.0.113.20']);
  const refused = await e.store.auditFor({ alertId: 'm1', event: 'refused' });
  assert.deepEqual(refused.map((r) => r.step).sort(), ['block-dest', 'mystery']);
  const notes = await alertNotes(ns, 'm1');
  assert.deepEqual(notes.map((n) => `${n.step}:${n.status}`), ['mystery:refused', 'block-dest:refused', 'block-source:applied', 'lock:awaiting_approval']);
});

test('a burst over the per-type rate limit: the excess is refused and audited', async () => {
  const ns = testNamespace('resp');
  const fw = new FakeFirewall().register();
  const e = engine(client, ns, [blockPlaybook], responseConfig({ guardrails: { rate_limits: { block_ip: { max: 2, window_seconds: 60 } } } }));
  const statuses: string[] = [];
  for (let i = 0; i < 5; i++) {
    const alert = sampleAlert(ns, { ip: `198.51.100.${i + 1}` });
    const [run] = await e.handleAlert(`burst-${i}`, alert);
    statuses.push(run!.steps[0]!.status);
  }
  assert.deepEqual(statuses, ['applied', 'applied', 'refused', 'refused', 'refused']);
  assert.equal(fw.applied.length, 2);
  assert.equal(await count(auditIndex(ns), { term: { event: 'refused:rate_limit' } }), 3);
});

test('the same target is not hit more than per_target allows, across playbooks', async () => {
  const ns = testNamespace('resp');
  new FakeFirewall().register();
  const e = engine(client, ns, [blockPlaybook], responseConfig({ guardrails: { per_target: { max: 1, window_seconds: 3600 } } }));
  const [first] = await e.handleAlert('t1', sampleAlert(ns, { ip: '198.51.100.77' }));
  const [second] = await e.handleAlert('t2', sampleAlert(ns, { ip: '198.51.100.77' }));
  assert.equal(first!.steps[0]!.status, 'applied');
  assert.equal(second!.steps[0]!.status, 'refused');
  assert.match(second!.steps[0]!.summary, /rate limit: 1 actions on 198.51.100.77/);
});

test('a failing driver trips the circuit breaker: the playbook stops, and that is audited', async () => {
  const ns = testNamespace('resp');
  const fw = new FakeFirewall().register();
  fw.fail = true;
  const e = engine(client, ns, [blockPlaybook], responseConfig({ guardrails: { circuit_breaker: { failures: 3, cooldown_seconds: 600 } } }));
  const statuses: string[] = [];
  for (let i = 0; i < 5; i++) {
    const [run] = await e.handleAlert(`cb-${i}`, sampleAlert(ns, { ip: `198.51.100.${100 + i}` }));
    statuses.push(run!.steps[0]!.status);
  }
  assert.deepEqual(statuses, ['failed', 'failed', 'failed', 'refused', 'refused']);
  assert.equal(await count(auditIndex(ns), { term: { event: 'circuit_opened' } }), 1);
  assert.equal(await count(auditIndex(ns), { term: { event: 'refused:circuit_open' } }), 2);
});

test('a driver that never answers fails the step at the bound, audited', async () => {
  const ns = testNamespace('resp');
  const hang: ActionDriver<{ ip: string }> = {
    type: 'hang_block',
    parse: (p) => p as { ip: string },
    dryRun: () => [],
    apply: () => new Promise(() => undefined),
    undo: async () => ({ ok: true, calls: [], summary: '' }),
    status: async () => ({ active: false, detail: '' }),
  };
  registerActionDriver(hang);
  const pb = playbook(`
name: hang
level: audit
trigger: { rule_ids: [c86d317c-6495-4cd8-99e3-2fff070b3058] }
steps: [{ id: s, type: hang_block, params: { ip: "{{source.ip}}" } }]
`);
  const e = new (await import('../../src/response/engine.ts')).ResponseEngine({ client, namespace: ns, config: responseConfig(), playbooks: [pb], holder: 't', refresh: 'wait_for', stepTimeoutMs: 50 });
  const [run] = await e.handleAlert('h1', sampleAlert(ns, { ip: '198.51.100.200' }));
  assert.equal(run!.steps[0]!.status, 'failed');
  assert.match(run!.steps[0]!.summary, /timed out after 50ms/);
});

test('above the unattended level an approval is requested; approve runs it, reject never does, an expired one is dropped and audited', async () => {
  const ns = testNamespace('resp');
  const fw = new FakeFirewall().register();
  const clock = new TestClock();
  const pb = playbook(`
name: contain
level: contain
trigger: { techniques: [T1110] }
steps:
  - { id: block-source, type: block_ip, ttl: 1h, params: { ip: "{{source.ip}}" } }
`);
  const e = engine(client, ns, [pb], responseConfig({ unattended_level: 'constrain', approval_ttl_seconds: 600 }), { clock });
  for (const [id, ip] of [['ap-1', '198.51.100.31'], ['ap-2', '198.51.100.32'], ['ap-3', '198.51.100.33']] as const) {
    const alert = sampleAlert(ns, { ip });
    await putAlert(client, ns, id, alert);
    const [run] = await e.handleAlert(id, alert);
    assert.equal(run!.steps[0]!.status, 'awaiting_approval');
    assert.match(run!.halted ?? '', /waits for approval/);
  }
  assert.deepEqual(fw.applied, [], 'nothing runs before an approval');
  const [a1, a2, a3] = ['ap-1', 'ap-2', 'ap-3'].map((id) => actionId(id, 'contain', 'block-source'));
  await e.approve(a1!, 'carol');
  await e.reject(a2!, 'dave');
  const first = await e.processApprovals();
  assert.deepEqual(first, { expired: 0, ran: 1 });
  assert.deepEqual(fw.applied, ['198.51.100.31']);
  const approved = (await e.store.getAction(a1!))!.record;
  assert.equal(approved.status, 'applied');
  assert.equal(approved.approval?.by, 'carol');

  clock.advance(601_000);
  await assert.rejects(e.approve(a3!, 'erin'), /expired/);
  const dropped = (await e.store.getAction(a3!))!.record;
  assert.equal(dropped.status, 'expired');
  assert.deepEqual((await e.store.auditTrail(a3!)).map((t) => t.event), ['approval_requested', 'expired']);
  assert.deepEqual((await e.store.auditTrail(a2!)).map((t) => t.event), ['approval_requested', 'rejected']);
  assert.deepEqual(fw.applied, ['198.51.100.31']);
});

test('the reaper drops approvals past expiry without anyone acting', async () => {
  const ns = testNamespace('resp');
  new FakeFirewall().register();
  const clock = new TestClock();
  const pb = playbook(`
name: contain
level: contain
trigger: { techniques: [T1110] }
steps: [{ id: b, type: block_ip, params: { ip: "{{source.ip}}" } }]
`);
  const e = engine(client, ns, [pb], responseConfig({ approval_ttl_seconds: 60 }), { clock });
  await e.handleAlert('x1', sampleAlert(ns, { ip: '198.51.100.41' }));
  assert.deepEqual(await e.processApprovals(), { expired: 0, ran: 0 });
  clock.advance(61_000);
  assert.deepEqual(await e.processApprovals(), { expired: 1, ran: 0 });
  assert.equal((await e.store.getAction(actionId('x1', 'contain', 'b')))!.record.status, 'expired');
});

test('--dry-run shows every call and changes nothing', async () => {
  const ns = testNamespace('resp');
  const fw = new FakeFirewall().register();
  const e = engine(client, ns, [blockPlaybook], responseConfig({ guardrails: { protected_ips: ['10.0.0.0/8'] } }));
  const alert = sampleAlert(ns, { ip: '203.0.113.50' });
  await putAlert(client, ns, 'd1', alert);
  const before = JSON.stringify((await client.get({ index: alertIndex(ns), id: 'd1' }))._source);
  const run = await e.dryRun(blockPlaybook, 'd1', alert);
  assert.equal(run.steps[0]!.status, 'would_apply');
  assert.deepEqual(run.steps[0]!.calls, [{ description: 'fake-fw add 203.0.113.50', request: { ip: '203.0.113.50' } }]);
  const refused = await e.dryRun(blockPlaybook, 'd2', sampleAlert(ns, { ip: '10.9.9.9' }));
  assert.equal(refused.steps[0]!.status, 'would_refuse');
  assert.deepEqual(fw.applied, []);
  assert.equal(await count(actionsIndex(ns)), 0);
  assert.equal(await count(auditIndex(ns)), 0);
  assert.equal(JSON.stringify((await client.get({ index: alertIndex(ns), id: 'd1' }))._source), before);
});

test('TTL: the block is released when it ends (reaper), audited; undo reverts by hand', async () => {
  const ns = testNamespace('resp');
  const fw = new FakeFirewall().register();
  const clock = new TestClock();
  const e = engine(client, ns, [blockPlaybook], responseConfig(), { clock });
  await e.handleAlert('ttl-1', sampleAlert(ns, { ip: '198.51.100.61' }));
  await e.handleAlert('ttl-2', sampleAlert(ns, { ip: '198.51.100.62' }));
  assert.deepEqual([...fw.blocked].sort(), ['198.51.100.61', '198.51.100.62']);

  const undone = await e.undo(actionId('ttl-2', 'block', 'block-source'), 'frank');
  assert.equal(undone.status, 'undone');
  assert.deepEqual([...fw.blocked], ['198.51.100.61']);
  await assert.rejects(e.undo(actionId('ttl-2', 'block', 'block-source'), 'frank'), /only an applied action can be undone/);

  assert.deepEqual(await e.reap(), [], 'nothing is due before the TTL ends');
  clock.advance(3_601_000);
  const released = await e.reap();
  assert.deepEqual(released.map((r) => r.id), [actionId('ttl-1', 'block', 'block-source')]);
  assert.deepEqual([...fw.blocked], []);
  const rec = (await e.store.getAction(actionId('ttl-1', 'block', 'block-source')))!.record;
  assert.equal(rec.status, 'released');
  assert.equal(rec.released_by, 'ttl');
  assert.deepEqual((await e.store.auditTrail(rec.id)).map((t) => t.event), ['applied', 'released']);
});

test('on_error: stop — a failed step stops the playbook; the steps after it are recorded as skipped, not silently dropped', async () => {
  const ns = testNamespace('resp');
  const fw = new FakeFirewall().register();
  fw.failNext = 1;
  const pb = playbook(`
name: stopper
level: constrain
trigger: { techniques: [T1110] }
steps:
  - { id: first, type: block_ip, on_error: stop, params: { ip: "{{source.ip}}" } }
  - { id: second, type: block_ip, params: { ip: "198.51.100.250" } }
`);
  const e = engine(client, ns, [pb], responseConfig());
  const [run] = await e.handleAlert('s1', sampleAlert(ns, { ip: '198.51.100.249' }));
  assert.deepEqual(run!.steps.map((s) => [s.step, s.status]), [['first', 'failed'], ['second', 'skipped']]);
  assert.match(run!.halted ?? '', /step first failed and declares on_error: stop/);
  assert.deepEqual(fw.applied, []);
  assert.deepEqual((await e.store.auditTrail(actionId('s1', 'stopper', 'second'))).map((t) => t.event), ['skipped']);
  // Handled again (a re-read alert): nothing re-runs.
  const [again] = await e.handleAlert('s1', sampleAlert(ns, { ip: '198.51.100.249' }));
  assert.deepEqual(again!.steps.map((s) => s.status), ['already_done', 'already_done']);
  assert.deepEqual(fw.applied, []);
});
