import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { loadPlaybooks, parsePlaybook, playbookMatches } from '../../src/response/playbook.ts';
import { renderParams } from '../../src/response/template.ts';
import { actionId, ResponseEngine } from '../../src/response/engine.ts';
import { Guardrails, targetsOf } from '../../src/response/guardrails.ts';
import { ownHostsFrom } from '../../src/response/own-hosts.ts';
import { responseConfig, sampleAlert, playbook } from './support.ts';

test('the shipped playbooks load and cover the required scenarios', () => {
  const byName = new Map(loadPlaybooks().map((p) => [p.name, p]));
  assert.deepEqual([...byName.keys()].sort(), ['brute-force-block', 'cloud-host-malware', 'compromised-account', 'confirmed-risk-host', 'honeypot-hit']);
  assert.deepEqual(byName.get('brute-force-block')!.steps.map((s) => s.type), ['thehive_alert', 'block_ip']);
  assert.deepEqual(byName.get('cloud-host-malware')!.steps.map((s) => s.type), ['thehive_alert', 'cortex_analyze', 'isolate_endpoint']);
  assert.deepEqual(byName.get('honeypot-hit')!.steps.map((s) => s.type), ['block_ip', 'sighting']);
  assert.equal(byName.get('confirmed-risk-host')!.steps[0]!.params.promote, true);
  assert.equal(byName.get('brute-force-block')!.steps[1]!.ttl, 3600);
});

test('a bad playbook fails at load naming the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-pb-'));
  const cases: Array<[string, RegExp]> = [
    ['name: x\nlevel: contain\ntrigger: { rule_ids: [a] }\nsteps: [{ id: s, type: block_ip, on_error: maybe }]', /bad\.yml: steps\.0\.on_error: /],
    ['name: x\nlevel: urgent\ntrigger: { rule_ids: [a] }\nsteps: [{ id: s, type: block_ip }]', /bad\.yml: level: /],
    ['name: x\nlevel: audit\ntrigger: {}\nsteps: [{ id: s, type: block_ip }]', /bad\.yml: trigger: a trigger needs at least one condition/],
    ['name: x\nlevel: audit\ntrigger: { techniques: [T99] }\nsteps: [{ id: s, type: block_ip }]', /bad\.yml: trigger\.techniques\.0: expected an ATT&CK technique id/],
    ['name: x\nlevel: audit\ntrigger: { rule_ids: [a] }\nsteps: [{ id: s, type: block_ip, ttl: soon }]', /bad\.yml: steps\.0\.ttl/],
    ['name: x\nlevel: audit\ntrigger: { rule_ids: [a] }\nsteps: [{ id: s, type: block_ip }, { id: s, type: webhook }]', /bad\.yml: steps\.1\.id: duplicate step id "s"/],
    ['name: x\nlevel: audit\ntrigger: { rule_ids: [a] }\nbypass_guardrails: true\nsteps: [{ id: s, type: block_ip }]', /bad\.yml: \(top level\): unknown key bypass_guardrails/],
    ['name: x\n  level: : audit', /bad\.yml:\d+:\d+: invalid YAML/],
  ];
  for (const [text, expected] of cases) {
    writeFileSync(join(dir, 'bad.yml'), text);
    assert.throws(() => loadPlaybooks(dir), expected, text);
  }
});

test('templates: alert fields, alternatives, typed whole values, context variables; a missing field is named', () => {
  const alert = sampleAlert('ns', { ip: '203.0.113.7' });
  const vars = { $alert: alert, $alert_id: 'A1', $ttl_seconds: 3600 };
  assert.deepEqual(renderParams({ ip: '{{source.ip}}', t: '{{$ttl_seconds}}', who: '{{ destination.ip || user.name }}', msg: 'alert {{$alert_id}} from {{source.ip}}', lit: '{{nope || "fallback"}}', techniques: '{{threat.technique.id}}' }, vars), {
    ip: '203.0.113.7',
    t: 3600,
    who: 'alice',
    msg: 'alert A1 from 203.0.113.7',
    lit: 'fallback',
    techniques: ['T1110.001'],
  });
  assert.deepEqual(renderParams({ flat: '{{source.ip}}' }, { $alert: { 'source.ip': '198.51.100.1' } }), { flat: '198.51.100.1' });
  assert.throws(() => renderParams({ ip: '{{destination.ip}}' }, vars), /the alert has no destination.ip/);
});

test('triggers: rule ids, tags, techniques (with sub-techniques), thresholds and entity types', () => {
  const pb = playbook('name: t\nlevel: audit\ntrigger: { techniques: [T1110], min_severity: 50, entity_types: [ip] }\nsteps: [{ id: s, type: webhook }]');
  assert.equal(playbookMatches(pb, sampleAlert('ns', { ip: '1.2.3.4' })), true, 'T1110.001 is a T1110');
  assert.equal(playbookMatches(pb, sampleAlert('ns', { ip: '1.2.3.4', severity: 40 })), false);
  const byTag = playbook('name: t\nlevel: audit\ntrigger: { tags: [honeypot] }\nsteps: [{ id: s, type: webhook }]');
  assert.equal(playbookMatches(byTag, { ...sampleAlert('ns'), tags: ['honeypot'] } as never), true);
  assert.equal(playbookMatches(byTag, sampleAlert('ns')), false);
  const disabled = parsePlaybook('name: t\nenabled: false\nlevel: audit\ntrigger: { rule_ids: [c86d317c-6495-4cd8-99e3-2fff070b3058] }\nsteps: [{ id: s, type: webhook }]', 'f.yml');
  assert.equal(playbookMatches(disabled, sampleAlert('ns')), false);
});

test('a playbook cannot lower an action below its type\'s floor; action ids are deterministic', () => {
  const pb = playbook('name: sneaky\nlevel: audit\ntrigger: { rule_ids: [r] }\nsteps: [{ id: s, type: block_ip, level: audit }, { id: l, type: disable_account, level: constrain }, { id: n, type: webhook }]');
  const e = new ResponseEngine({ client: {} as Client, namespace: 'ns', config: responseConfig({ level_floors: { webhook: 'constrain' } }), playbooks: [pb], holder: 't' });
  assert.equal(e.stepLevel(pb, pb.steps[0]!), 'constrain');
  assert.equal(e.stepLevel(pb, pb.steps[1]!), 'contain');
  assert.equal(e.stepLevel(pb, pb.steps[2]!), 'constrain', 'config raises a floor');
  assert.equal(e.needsApproval('contain'), true);
  assert.equal(e.needsApproval('constrain'), false);
  assert.equal(actionId('a', 'p', 's'), actionId('a', 'p', 's'));
  assert.notEqual(actionId('a', 'p', 's'), actionId('a', 'p', 't'));
  assert.match(actionId('a', 'p', 's'), /^[0-9a-f]{32}$/);
});

test('guardrails: targets from the well-known params; protected IPs/CIDRs v4+v6, instances, tags, critical accounts', () => {
  const g = new Guardrails(responseConfig({ guardrails: { protected_ips: ['10.0.0.0/8', '192.168.1.1', 'fd00::/8'], protected_instance_ids: ['i-0abc12345678'], protected_instance_tags: ['nyx:protected=true', 'critical'] } }).guardrails, [], { ownHosts: ownHostsFrom([{ source: 'elasticsearch.url', urls: ['http://172.16.0.9:9200'] }]) });
  assert.deepEqual(targetsOf({ ip: '1.2.3.4', instance_id: 'i-1', user: 'bob', other: 'x' }), [{ kind: 'ip', value: '1.2.3.4' }, { kind: 'instance', value: 'i-1' }, { kind: 'account', value: 'bob' }]);
  const refused = (params: Record<string, unknown>, alert: unknown = {}) => g.checkTargets(targetsOf(params), alert, params);
  assert.equal(refused({ ip: '10.2.3.4' }).ok, false);
  assert.equal(refused({ ip: '192.168.1.1' }).ok, false);
  assert.equal(refused({ ip: 'fd12::1' }).ok, false);
  assert.equal(refused({ ip: '172.16.0.9' }).ok, false, 'the Elasticsearch host is protected');
  assert.equal(refused({ ip: '203.0.113.1' }).ok, true);
  assert.equal(refused({ ip: 'not-an-ip' }).ok, false);
  assert.equal(refused({ instance_id: 'i-0abc12345678' }).ok, false);
  assert.equal(refused({ instance_id: 'i-0def', instance_tags: { 'nyx:protected': 'true' } }).ok, false);
  assert.equal(refused({ instance_id: 'i-0def' }, { cloud: { instance: { tags: ['critical'] } } }).ok, false);
  assert.equal(refused({ instance_id: 'i-0def' }, { cloud: { instance: { tags: ['web'] } } }).ok, true);
  assert.equal(refused({ user: 'Root' }).ok, false);
  assert.equal(refused({ user: 'alice' }).ok, true);
});
