import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScoringModel, scoreRisk, riskBand, loadScoringModel } from '../../src/detection/scoring/index.ts';
import { loadAlertPolicy, threatFromTags, loadMitreTable, rulePolicy, buildAlert } from '../../src/alerts/index.ts';
import { RULES_ROOT } from './support.ts';

const model = loadScoringModel(join(RULES_ROOT, 'scoring.yml'));

test('risk = Σ(weight × confidence × context) − trust offsets, clamped to 0–100, with the bands of the design', () => {
  const plain = scoreRisk(model, { host: { name: 'ws1' } }, [{ name: 'a', weight: 50, confidence: 0.8 }]);
  assert.equal(plain.score, 40);
  assert.equal(plain.band, 'low');
  const boosted = scoreRisk(model, { host: { name: 'dc01' }, user: { name: 'Administrator' } }, [{ name: 'a', weight: 50, confidence: 0.8 }]);
  assert.equal(boosted.score, Math.round(50 * 0.8 * 1.25 * 1.2));
  assert.deepEqual(boosted.context.map((c) => c.name).sort(), ['critical_asset', 'privileged_user']);
  const trusted = scoreRisk(model, { host: { name: 'adm-07' } }, [{ name: 'a', weight: 20, confidence: 0.5 }]);
  assert.equal(trusted.score, 0, 'clamped at 0 after the trust offset');
  assert.deepEqual(trusted.trust_offsets, [{ name: 'known_admin_workstation', offset: 15 }]);
  const huge = scoreRisk(model, {}, [{ name: 'a', weight: 100, confidence: 1 }, { name: 'b', weight: 100, confidence: 1 }]);
  assert.equal(huge.score, 100);
  assert.equal(huge.band, 'confirmed');
  assert.deepEqual([0, 24, 25, 49, 50, 74, 75, 89, 90, 100].map((s) => riskBand(model, s)), ['benign', 'benign', 'low', 'low', 'suspicious', 'suspicious', 'probable_malicious', 'probable_malicious', 'confirmed', 'confirmed']);
  const external = scoreRisk(model, { source: { ip: '203.0.113.9' } }, [{ name: 'a', weight: 50, confidence: 1 }]);
  assert.ok(external.context.some((c) => c.name === 'external_source'));
  const internal = scoreRisk(model, { source: { ip: '10.1.2.3' } }, [{ name: 'a', weight: 50, confidence: 1 }]);
  assert.ok(!internal.context.some((c) => c.name === 'external_source'));
});

test('a bad scoring model or override file is refused with the file and key named', () => {
  assert.throws(() => parseScoringModel({ version: 1 }, 'x.yml'), /x\.yml: 'severity_by_level'/);
  const broken = structuredClone(model) as Record<string, unknown>;
  (broken.context_multipliers as Array<Record<string, unknown>>)[0]!.when = { field: 'source.ip', cidr: ['10.0.0.0/99'] };
  assert.throws(() => parseScoringModel(broken, 'y.yml'), /y\.yml: 'context_multipliers\.0\.when\.cidr\.0': expected a CIDR/);
  const dir = mkdtempSync(join(tmpdir(), 'nyx-policy-'));
  cpSync(RULES_ROOT, dir, { recursive: true });
  writeFileSync(join(dir, 'overrides.yml'), 'version: 1\ndefaults: { suppression_window: 1h, entity: [host.name] }\nrules:\n  r1: { suppression_window: soon }\n');
  assert.throws(() => loadAlertPolicy(dir), /overrides\.yml: 'rules\.r1\.suppression_window': expected a positive duration/);
});

test('MITRE tags become ECS threat fields from the data tables; per-rule suppression window and entity come from overrides', () => {
  const mitre = loadMitreTable(join(RULES_ROOT, 'mitre'));
  const threat = threatFromTags(mitre, ['attack.credential-access', 'attack.t1003.001', 'attack.T1003', 'cve.2021-1']);
  assert.deepEqual(threat?.tactic, { id: ['TA0006'], name: ['Credential Access'] });
  assert.deepEqual(threat?.technique.id, ['T1003']);
  assert.deepEqual(threat?.technique.subtechnique, { id: ['T1003.001'], name: ['LSASS Memory'] });
  assert.equal(threatFromTags(mitre, ['car.2013-01']), undefined);

  const policy = loadAlertPolicy();
  const cowrie = rulePolicy(policy, '08f80f2a-53df-5a1a-ab3e-34c374a7d5a2');
  assert.deepEqual(cowrie.entity, ['source.ip']);
  const base = { namespace: 'n', rule: { id: '08f80f2a-53df-5a1a-ab3e-34c374a7d5a2', name: 'Honeypot Login Succeeded', level: 'high' as const, tags: [] }, evidence: { event_ids: [], indices: [] } };
  const a = buildAlert({ ...base, event: { '@timestamp': '2026-11-20T10:05:00Z', source: { ip: '203.0.113.7' }, host: { name: 'hp1' } } }, policy)!;
  const b = buildAlert({ ...base, event: { '@timestamp': '2026-11-20T10:55:00Z', source: { ip: '203.0.113.7' }, host: { name: 'hp1' } } }, policy)!;
  const c = buildAlert({ ...base, event: { '@timestamp': '2026-11-20T11:05:00Z', source: { ip: '203.0.113.7' }, host: { name: 'hp1' } } }, policy)!;
  assert.equal(a.nyx.alert.entity_type, 'ip');
  assert.equal(a.nyx.alert.entity, '203.0.113.7');
  assert.equal(a.nyx.alert.bucket_start, b.nyx.alert.bucket_start, 'one alert per attacker per hour');
  assert.notEqual(a.nyx.alert.bucket_start, c.nyx.alert.bucket_start);
});

test('a per-rule exception (values or CIDRs beside the rules) stops the alert, whichever path builds it', () => {
  const policy = loadAlertPolicy();
  const withExceptions = {
    ...policy,
    rules: { ...policy.rules, r2: { exceptions: [{ field: 'source.ip', cidr: ['192.0.2.0/24'] }, { field: 'user.name', equals: ['backup-svc'] }] } },
  };
  const input = (event: Record<string, unknown>) => ({ namespace: 'n', rule: { id: 'r2', name: 'R2', level: 'high' as const, tags: [] }, evidence: { event_ids: [], indices: [] }, event: { '@timestamp': '2026-11-20T10:00:00Z', host: { name: 'h' }, ...event } });
  assert.equal(buildAlert(input({ source: { ip: '192.0.2.44' } }), withExceptions), undefined);
  assert.equal(buildAlert(input({ user: { name: 'Backup-Svc' } }), withExceptions), undefined);
  assert.ok(buildAlert(input({ source: { ip: '198.51.100.44' }, user: { name: 'eve' } }), withExceptions));
  assert.ok(buildAlert(input({ source: { ip: '192.0.2.44' } }), policy), 'other rules are not affected');
});
