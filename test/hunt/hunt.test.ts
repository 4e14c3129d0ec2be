import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { connectElastic, type ElasticContext } from '../../src/elastic/connect.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { writeSourceEvents } from '../../src/ingest/bulk-writer.ts';
import { hunt, pivot, compileHunt } from '../../src/detection/hunt/index.ts';
import { entityRisk } from '../../src/detection/entity-risk/index.ts';
import { alertId, writeAlerts, type AlertDocument } from '../../src/alerts/index.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { runNyx } from '../support/cli.ts';
import { bootstrapForDetection } from '../correlation/support.ts';

// Events go through the real source pipelines (writeSourceEvents) into real data streams; hunts,
// pivots and entity risk read them (and alerts written with the shared alert writer) back.

const { config, secrets } = loadConfig({ env: { ELASTICSEARCH_URL: testElasticUrl() } });
let ctx: ElasticContext;
const ns = uniqueNamespace('hunt');
const NOW = Date.now();
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
const env = { ELASTICSEARCH_URL: testElasticUrl() };

before(async () => {
  ctx = await connectElastic(config, secrets);
  await bootstrapForDetection(ctx, config);
  const pipelines = SourcePipelines.create(config, ctx.caps);
  const ssh = (minutes: number, text: string, host = 'bastion-01') => ({ doc: { message: `<38>1 ${ago(minutes)} ${host} sshd 4242 - - ${text}` } });
  const syslog = [
    ...[50, 49, 48, 47, 46].map((m) => ssh(m, 'Failed password for root from 203.0.113.45 port 40222 ssh2')),
    ssh(45, 'Accepted password for root from 203.0.113.45 port 40222 ssh2'),
    ssh(30, 'Accepted publickey for deploy from 10.20.4.17 port 51544 ssh2', 'web-02'),
    ssh(60 * 30, 'Failed password for root from 203.0.113.45 port 1 ssh2'), // 30 hours ago: outside 24h
    ssh(20, 'Failed password for invalid user (admin" from 198.51.100.77 port 58812 ssh2'),
  ];
  const flows = [0, 1, 2].map((i) => ({
    doc: {
      '@timestamp': ago(40 - i),
      host: '192.0.2.254',
      netflow: { version: 9, flow_seq_num: i, flowset_id: 256, ipv4_src_addr: '10.20.4.17', ipv4_dst_addr: '203.0.113.45', l4_src_port: 40000 + i, l4_dst_port: 8443, protocol: 6, in_bytes: 2048, in_pkts: 4, first_switched: ago(41 - i), last_switched: ago(40 - i), direction: 1 },
    },
  }));
  for (const [source, events] of [['syslog', syslog], ['netflow', flows]] as const) {
    const r = await writeSourceEvents(ctx.client, pipelines, { source, namespace: ns, events, refresh: 'wait_for' });
    assert.equal(r.indexed, events.length);
  }
  // Alerts: host srv-a gets three domains within three minutes; host srv-b more alerts of one kind.
  const alert = (rule: string, tactic: string, risk: number, minutes: number, entity: Record<string, unknown>, extra: Partial<AlertDocument['nyx']['alert']> = {}): AlertDocument => {
    const first = ago(minutes);
    const name = (entity.host as { name?: string } | undefined)?.name ?? (entity.source as { ip?: string } | undefined)?.ip ?? 'none';
    return {
      '@timestamp': first,
      event: { kind: 'alert', severity: 47, risk_score: risk, category: ['process'] },
      rule: { id: `${rule}-${tactic}`, name: rule, ruleset: 'sigma' },
      threat: { framework: 'MITRE ATT&CK', tactic: { id: [tactic], name: [tactic] } },
      ...entity,
      nyx: { alert: { status: 'open', reason: rule, entity: name, entity_type: 'host', bucket_start: first, namespace: ns, first_seen: first, evidence: { event_ids: [], indices: [] }, ...extra } },
    } as AlertDocument;
  };
  const alerts = [
    alert('Encoded PowerShell', 'TA0002', 40, 10, { host: { name: 'srv-a' }, user: { name: 'mallory' } }),
    alert('Run Key Persistence', 'TA0003', 40, 9, { host: { name: 'srv-a' } }),
    alert('Beaconing', 'TA0011', 40, 8, { host: { name: 'srv-a' } }),
    ...[600, 480, 360, 240].map((m) => alert('Certutil Download', 'TA0005', 50, m, { host: { name: 'srv-b' } })),
    alert('Closed as false positive', 'TA0006', 99, 5, { host: { name: 'srv-c' } }, { status: 'closed', status_reason: 'false_positive' }),
    alert('SSH Brute Force', 'TA0006', 56, 45, { source: { ip: '203.0.113.45' }, user: { name: 'root' } }, { entity: 'source.ip=203.0.113.45', entity_type: 'ip' }),
  ];
  const w = await writeAlerts(ctx.client, alerts, { refresh: 'wait_for' });
  assert.equal(w.created, alerts.length, JSON.stringify(w.failures));
  assert.equal(alertId(alerts[0]!.rule.id, 'srv-a', alerts[0]!.nyx.alert.bucket_start, ns).length, 32);
});

describe('nyx hunt over logs-* data streams', () => {
  test('--ip finds the address as source or destination, in every dataset, within the default 24 h', async () => {
    const r = await hunt(ctx.client, { ip: '203.0.113.45', namespace: ns });
    assert.equal(r.total, 9); // 5 failures + 1 success (syslog) + 3 flows; the 30-hour-old failure is outside
    assert.deepEqual([...new Set(r.events.map((e) => e.dataset))].sort(), ['netflow', 'syslog']);
    assert.ok(r.events.every((e, i) => i === 0 || e.timestamp <= r.events[i - 1]!.timestamp), 'newest first');
    assert.equal((await hunt(ctx.client, { ip: '203.0.113.0/24', since: '2d', namespace: ns })).total, 10);
  });

  test('--user and --host are case-insensitive; --category and --from/--to narrow', async () => {
    assert.deepEqual((await hunt(ctx.client, { user: 'DEPLOY', namespace: ns })).events.map((e) => e.host), ['web-02']);
    assert.equal((await hunt(ctx.client, { host: 'BASTION-01', category: 'authentication', namespace: ns })).total, 6);
    const window = await hunt(ctx.client, { from: ago(48.5), to: ago(45.5), ip: '203.0.113.45', namespace: ns });
    assert.deepEqual(window.events.map((e) => e.outcome), ['failure', 'failure', 'failure']);
  });

  test('free text is matched safely: words are AND-ed, and quotes or brackets from the user are just text', async () => {
    const r = await hunt(ctx.client, { text: 'accepted publickey', namespace: ns });
    assert.deepEqual(r.events.map((e) => e.user), ['deploy']);
    const odd = await hunt(ctx.client, { text: 'invalid user (admin"', namespace: ns });
    assert.equal(odd.total, 1);
    assert.equal((await hunt(ctx.client, { text: 'accepted -publickey', namespace: ns })).total, 1);
    // The user's text is passed whole to simple_query_string (never query_string, never a script).
    const compiled = compileHunt({ text: '*) OR _exists_:x' }).query as { bool: { must: Array<{ simple_query_string?: { query: string; lenient?: boolean } }> } };
    const must = compiled.bool.must;
    assert.deepEqual([must.length, must[0]?.simple_query_string?.query, must[0]?.simple_query_string?.lenient], [1, '*) OR _exists_:x', true]);
  });

  test('bad input is named: not an IP, not a time, an empty range, an unknown severity', () => {
    assert.throws(() => compileHunt({ ip: '203.0.113.450' }), /--ip 203\.0\.113\.450: expected an IPv4\/IPv6 address or CIDR/);
    assert.throws(() => compileHunt({ from: 'yesterday-ish' }), /--from yesterday-ish: expected an ISO time/);
    assert.throws(() => compileHunt({ from: '1h', to: '2h' }), /the time range is empty/);
    assert.throws(() => compileHunt({ severity: 'spicy' }), /--severity spicy: expected a number or one of low, medium, high, critical/);
  });

  test('pivot --ip: first/last seen, hosts, users, peers, categories and the alerts naming the address (default: 7 days)', async () => {
    const p = await pivot(ctx.client, { ip: '203.0.113.45', namespace: ns });
    assert.equal(p.events, 10);
    assert.deepEqual([p.firstSeen, p.lastSeen], [ago(60 * 30), ago(38)]);
    assert.deepEqual(p.hosts, [{ value: 'bastion-01', count: 7 }]);
    assert.deepEqual(p.users, [{ value: 'root', count: 7 }]);
    assert.deepEqual(p.sourceIps.map((f) => f.value).sort(), ['10.20.4.17', '203.0.113.45']);
    assert.deepEqual(p.destinationPorts, [{ value: '8443', count: 3 }]);
    assert.deepEqual(p.outcomes.map((f) => f.value).sort(), ['failure', 'success']);
    assert.deepEqual(p.alerts.items.map((a) => a.rule), ['SSH Brute Force']);
    const u = await pivot(ctx.client, { user: 'root', since: '2d', namespace: ns });
    assert.deepEqual(u.sourceIps, [{ value: '203.0.113.45', count: 7 }]);
    assert.deepEqual(u.alerts.items.map((a) => a.rule), ['SSH Brute Force']);
  });

  test('the CLI: table and JSON, and one readable line for bad input', async () => {
    const table = await runNyx(['hunt', '--ip', '203.0.113.45', '--namespace', ns, '--category', 'network'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout.split('\n')[0]!, /^TIME\s+DATASET\s+CATEGORY\s+ACTION\s+OUTCOME\s+HOST\s+USER\s+SOURCE\s+DESTINATION\s+SUMMARY$/);
    assert.equal(table.stdout.trim().split('\n').length, 4);
    assert.match(table.stdout, /10\.20\.4\.17\s+203\.0\.113\.45:8443/);
    const json = await runNyx(['hunt', 'accepted', '--namespace', ns, '--json'], env);
    assert.equal((JSON.parse(json.stdout) as { total: number }).total, 2);
    const piv = await runNyx(['hunt', 'pivot', '--ip', '203.0.113.45', '--namespace', ns], env);
    assert.equal(piv.code, 0, piv.stderr);
    assert.match(piv.stdout, /^ip 203\.0\.113\.45: 10 events/);
    assert.match(piv.stdout, /users\s+root \(7\)/);
    const bad = await runNyx(['hunt', '--ip', 'nope', '--namespace', ns], env);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim(), 'nyx: --ip nope: expected an IPv4/IPv6 address or CIDR such as 203.0.113.7 or 10.0.0.0/8');
  });
});

describe('nyx risk', () => {
  test('three domains on one host within minutes outrank more alerts of one kind; closed false positives do not count', async () => {
    const r = await entityRisk(ctx.client, { entity: 'host', namespace: ns, now: new Date(NOW) });
    assert.deepEqual(r.entities.map((e) => e.name), ['srv-a', 'srv-b']);
    const [a, b] = r.entities;
    assert.equal(a!.multiplier, 2);
    assert.deepEqual(a!.burst?.domains, ['network', 'persistence', 'process']);
    assert.ok(a!.base < b!.base, 'srv-b has more raw (decayed) risk…');
    assert.ok(a!.score > b!.score, '…but the burst ranks srv-a first');
    assert.equal(b!.multiplier, 1);
    assert.deepEqual(b!.contributing.map((c) => c.rule), Array(4).fill('Certutil Download'));
    assert.ok(b!.contributing[0]!.weight > b!.contributing[3]!.weight, 'older alerts weigh less (decay)');
  });

  test('users are ranked too, and the CLI lists the contributing alerts', async () => {
    const users = await entityRisk(ctx.client, { entity: 'user', namespace: ns, now: new Date(NOW) });
    assert.deepEqual(users.entities.map((e) => e.name), ['root', 'mallory']);
    const cli = await runNyx(['risk', '--entity', 'host', '--namespace', ns], env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^ 1\. host srv-a {2}risk [\d.]+ {2}\(3 alerts, base [\d.]+\) {2}×2 \(network, persistence, process within /);
    assert.match(cli.stdout, /Run Key Persistence {2}\[persistence\] {2}open/);
    const json = JSON.parse((await runNyx(['risk', '--namespace', ns, '--json', '--limit', '2'], env)).stdout) as { entities: Array<{ name: string }> };
    assert.equal(json.entities.length, 2);
    const bad = await runNyx(['risk', '--entity', 'planet'], env);
    assert.equal(bad.stderr.trim(), 'nyx: --entity planet: expected host, user or all');
  });
});

test("nyx risk over every tenant scores a host per tenant (by alert index), never one tenant's alerts with another's", async () => {
  const nsA = uniqueNamespace('riska');
  const nsB = uniqueNamespace('riskb');
  const host = `shared-${nsA}`;
  // Alerts created "tomorrow" sort first in the newest-first read over nyx-alerts-*, whatever other tests wrote.
  const tomorrow = new Date(NOW + 86_400_000).toISOString();
  const alertIn = (namespace: string, risk: number, minutes: number): AlertDocument => ({
    '@timestamp': tomorrow,
    event: { kind: 'alert', severity: 47, risk_score: risk, category: ['process'] },
    rule: { id: `risk-tenant-${minutes}`, name: 'Encoded PowerShell', ruleset: 'sigma' },
    threat: { framework: 'MITRE ATT&CK', tactic: { id: ['TA0002'], name: ['Execution'] } },
    host: { name: host },
    nyx: { alert: { status: 'open', reason: 'r', entity: host, entity_type: 'host', bucket_start: ago(minutes), namespace, first_seen: ago(minutes), evidence: { event_ids: [], indices: [] } } },
  }) as AlertDocument;
  const w = await writeAlerts(ctx.client, [alertIn(nsA, 40, 10), alertIn(nsA, 40, 11), alertIn(nsB, 70, 12)], { refresh: 'wait_for' });
  assert.equal(w.created, 3, JSON.stringify(w.failures));
  const r = await entityRisk(ctx.client, { entity: 'host', now: new Date(NOW), limit: 10_000 });
  const rows = r.entities.filter((e) => e.name === host).map((e) => [e.namespace, e.alerts]);
  assert.deepEqual(rows.sort(), [[nsA, 2], [nsB, 1]].sort());
});
