import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { connectElastic, type ElasticContext } from '../../src/elastic/connect.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { prepareSourceEvents, writeSourceEvents, type SourceEvent } from '../../src/ingest/bulk-writer.ts';
import { loadFieldMappings, SigmaRuleSet } from '../../src/detection/sigma/index.ts';
import {
  alertingCorrelationIds,
  buildCorrelationAlert,
  CorrelationState,
  evaluateCorrelationInStream,
  evaluateCorrelationOverElastic,
  loadCorrelationRules,
  type CorrelationMatch,
} from '../../src/detection/correlation/index.ts';
import { loadAlertPolicy, writeAlerts } from '../../src/alerts/index.ts';
import type { Source } from '../../src/config/index.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { bootstrapForDetection } from './support.ts';

// The same events, written through the real source pipelines into real data streams, are evaluated
// by the stream evaluator (as `nyx serve` would, event by event) and by the Elasticsearch evaluator
// (as `nyx watch` would): both must report the same correlations, groups and windows.

const RULES = new URL('../../rules', import.meta.url).pathname;
const mappings = loadFieldMappings(join(RULES, 'mappings'));
const loaded = loadCorrelationRules(join(RULES, 'sigma'), mappings);
const matcher = new SigmaRuleSet(loaded.rules);
const { config, secrets } = loadConfig({ env: { ELASTICSEARCH_URL: testElasticUrl() } });
let ctx: ElasticContext;
let pipelines: SourcePipelines;

const ID = {
  sshBrute: idOf('SSH Brute Force From One Source'),
  sshCompromise: idOf('SSH Account Compromise After Repeated Failures'),
  winCompromise: idOf('Windows Account Compromise After Repeated Failures'),
  winBrute: idOf('Windows Brute Force Against One Account'),
  spraying: idOf('Password Spraying From One Source'),
  beacon: idOf('Periodic Connections to One External Destination (C2 Beaconing)'),
  exfil: idOf('Large Outbound Transfer Volume From One Host'),
};

function idOf(title: string): string {
  const c = loaded.set.correlations.find((x) => x.rule.title === title);
  assert.ok(c, `correlation '${title}' loaded`);
  return c.id;
}

before(async () => {
  assert.deepEqual(loaded.errors.map((e) => e.message), []);
  ctx = await connectElastic(config, secrets);
  await bootstrapForDetection(ctx, config);
  pipelines = SourcePipelines.create(config, ctx.caps);
});

const T0 = Date.parse('2026-11-20T05:58:00Z'); // bursts straddle 06:00

function at(offsetSeconds: number): string {
  return new Date(T0 + offsetSeconds * 1000).toISOString();
}

function sshLine(offsetSeconds: number, text: string): string {
  return `<38>1 ${at(offsetSeconds)} bastion-01 sshd 24530 - - ${text}`;
}

/** Stream path: each event normalised as ingest does, matched, fed to the correlation state in arrival order. */
function streamMatches(source: Source, ns: string, events: SourceEvent[]): CorrelationMatch[] {
  const state = new CorrelationState(loaded.set);
  const prepared = prepareSourceEvents(pipelines, { source, namespace: ns, events });
  const out: CorrelationMatch[] = [];
  for (const d of prepared.docs) {
    out.push(...evaluateCorrelationInStream(state, { doc: d.doc, ruleIds: matcher.match(d.doc).map((m) => m.ruleId), id: d.id, index: prepared.dataStream }));
  }
  return out;
}

async function elasticMatches(ns: string, ids: string[]): Promise<CorrelationMatch[]> {
  const out: CorrelationMatch[] = [];
  for (const id of ids) {
    const r = await evaluateCorrelationOverElastic(ctx.client, loaded.set, id, { from: at(-60), to: at(3 * 3600), namespace: ns });
    assert.equal(r.truncated, false);
    out.push(...r.matches);
  }
  return out;
}

const summary = (ms: CorrelationMatch[]) =>
  ms.map((m) => `${m.correlationId} ${m.groupKey} ${m.windowStart}..${m.windowEnd} value=${m.value}`).sort();

describe('correlations over real data streams: stream and Elasticsearch evaluators agree', () => {
  test('SSH brute force, compromise after failures and password spraying: same groups and windows in both paths', async () => {
    const ns = uniqueNamespace('corr');
    const lines: string[] = [];
    // A: 12 failures for root, 5 s apart from 05:58:00 (straddles 06:00), then a success for root.
    for (let i = 0; i < 12; i++) lines.push(sshLine(i * 5, 'Failed password for root from 203.0.113.45 port 40222 ssh2'));
    lines.push(sshLine(70, 'Accepted password for root from 203.0.113.45 port 40222 ssh2'));
    // B: 6 failures for oracle spread over 200 s, never a success: below every threshold.
    for (let i = 0; i < 6; i++) lines.push(sshLine(2 + i * 40, 'Failed password for oracle from 198.51.100.7 port 5001 ssh2'));
    // C: one failure for each of six accounts: spraying, not brute force.
    for (const [i, u] of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'].entries()) lines.push(sshLine(3 + i * 20, `Failed password for invalid user ${u} from 192.0.2.66 port 6000 ssh2`));
    // D: an ordinary login.
    lines.push(sshLine(30, 'Accepted publickey for deploy from 10.20.4.17 port 51544 ssh2'));
    lines.sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!));
    const events = lines.map((message, i) => ({ doc: { message }, id: `${ns}-ssh-${i}` }));

    const report = await writeSourceEvents(ctx.client, pipelines, { source: 'syslog', namespace: ns, events, refresh: 'wait_for' });
    assert.equal(report.indexed, events.length);

    const alerting = [...alertingCorrelationIds(loaded.set)];
    const stream = streamMatches('syslog', ns, events).filter((m) => alerting.includes(m.correlationId));
    const elastic = await elasticMatches(ns, alerting);

    assert.deepEqual(
      stream.map((m) => `${m.correlationId} ${m.groupKey}`).sort(),
      [`${ID.sshBrute} source.ip=203.0.113.45`, `${ID.sshCompromise} source.ip=203.0.113.45,user.name=root`, `${ID.spraying} source.ip=192.0.2.66`].sort(),
    );
    assert.deepEqual(summary(elastic), summary(stream));

    const brute = stream.find((m) => m.correlationId === ID.sshBrute)!;
    assert.equal(brute.value, 10);
    assert.equal(brute.windowStart, at(0));
    assert.equal(brute.windowEnd, at(45)); // fired on the tenth failure, across the 06:00 boundary
    const spray = elastic.find((m) => m.correlationId === ID.spraying)!;
    assert.equal(spray.value, 5);
    assert.deepEqual(spray.values, ['alice', 'bob', 'carol', 'dave', 'erin']);
    // Elasticsearch evidence names the stored documents.
    const stored = await ctx.client.search({ index: `logs-syslog-${ns}`, size: 100, query: { ids: { values: brute.eventIds } } });
    assert.equal(stored.hits.hits.length, 10);

    // Both paths' alerts have the same ids: written twice, stored once.
    const policy = loadAlertPolicy();
    const fromStream = stream.map((m) => buildCorrelationAlert(loaded.set, m, { namespace: ns, policy })!);
    const fromElastic = elastic.map((m) => buildCorrelationAlert(loaded.set, m, { namespace: ns, policy })!);
    const first = await writeAlerts(ctx.client, fromStream, { refresh: 'wait_for' });
    assert.deepEqual([first.created, first.failed], [3, 0], JSON.stringify(first.failures));
    const second = await writeAlerts(ctx.client, fromElastic, { refresh: 'wait_for' });
    assert.deepEqual([second.created, second.duplicates], [0, 3]);
    const compromise = fromStream.find((a) => a.rule.id === ID.sshCompromise)!;
    assert.equal(compromise.nyx.alert.entity, 'source.ip=203.0.113.45,user.name=root');
    assert.equal(compromise.user?.name, 'root');
    assert.equal(compromise.source?.ip, '203.0.113.45');
    assert.match(compromise.nyx.alert.reason, /SSH Account Compromise After Repeated Failures: source\.ip=203\.0\.113\.45,user\.name=root/);
  });

  test('beaconing: a regular 60 s beacon fires in both paths, a jittery talker to the same kind of destination does not; exfiltration volume sums bytes', async () => {
    const ns = uniqueNamespace('beacon');
    const flow = (offset: number, src: string, dst: string, bytes: number, seq: number) => ({
      '@timestamp': at(offset),
      host: '192.0.2.254',
      netflow: { version: 9, flow_seq_num: seq, flowset_id: 256, ipv4_src_addr: src, ipv4_dst_addr: dst, l4_src_port: 50000 + seq, l4_dst_port: 443, protocol: 6, in_bytes: bytes, in_pkts: 10, first_switched: at(offset - 1), last_switched: at(offset), direction: 1 },
    });
    const docs: Record<string, unknown>[] = [];
    let seq = 0;
    for (let i = 0; i < 8; i++) docs.push(flow(i * 60, '10.1.2.3', '203.0.113.80', 900, seq++)); // beacon
    for (const off of [0, 7, 250, 290, 1100, 1130, 2400, 2405]) docs.push(flow(off + 1, '10.1.2.9', '203.0.113.81', 1500, seq++)); // jittery
    for (let i = 0; i < 6; i++) docs.push(flow(100 + i * 240, '10.1.2.50', `198.51.100.${10 + i}`, 100_000_000, seq++)); // 600 MB out in 20 min
    docs.sort((a, b) => String(a['@timestamp']).localeCompare(String(b['@timestamp'])));
    const events = docs.map((doc, i) => ({ doc, id: `${ns}-flow-${i}` }));
    const report = await writeSourceEvents(ctx.client, pipelines, { source: 'netflow', namespace: ns, events, refresh: 'wait_for' });
    assert.equal(report.indexed, events.length);

    const ids = [ID.beacon, ID.exfil];
    const stream = streamMatches('netflow', ns, events).filter((m) => ids.includes(m.correlationId));
    const elastic = await elasticMatches(ns, ids);
    assert.deepEqual(stream.map((m) => `${m.correlationId} ${m.groupKey}`).sort(), [`${ID.beacon} source.ip=10.1.2.3,destination.ip=203.0.113.80`, `${ID.exfil} source.ip=10.1.2.50`].sort());
    assert.deepEqual(summary(elastic), summary(stream));
    const beacon = elastic.find((m) => m.correlationId === ID.beacon)!;
    assert.equal(beacon.periodicity?.meanIntervalMs, 60_000);
    assert.equal(beacon.periodicity?.jitter, 0);
    assert.equal(elastic.find((m) => m.correlationId === ID.exfil)!.value, 500_000_000);
  });

  test('Windows (Winlogbeat records): five 4625 then a network 4624 is a compromise in both paths; a 4624 for another account is not', async () => {
    const ns = uniqueNamespace('wincorr');
    const record = (offset: number, id: string, user: string, logonType: string) => ({
      '@timestamp': at(offset),
      agent: { type: 'winlogbeat', version: '8.13.2', name: 'DC-01' },
      host: { name: 'dc-01' },
      event: { code: id, provider: 'Microsoft-Windows-Security-Auditing', kind: 'event' },
      winlog: {
        channel: 'Security',
        provider_name: 'Microsoft-Windows-Security-Auditing',
        event_id: id,
        computer_name: 'DC-01.corp.example.com',
        event_data: { TargetUserName: user, TargetDomainName: 'CORP', IpAddress: '198.51.100.20', IpPort: '50123', LogonType: logonType, WorkstationName: 'KALI' },
      },
    });
    const docs = [
      ...[0, 5, 10, 15, 20].map((s) => record(s, '4625', 'alice', '3')),
      record(60, '4624', 'alice', '3'),
      ...[0, 5, 10, 15, 20].map((s) => record(s + 1, '4625', 'bob', '3')),
      record(61, '4624', 'carol', '3'),
    ].sort((a, b) => a['@timestamp'].localeCompare(b['@timestamp']));
    const events = docs.map((doc, i) => ({ doc, id: `${ns}-win-${i}` }));
    const report = await writeSourceEvents(ctx.client, pipelines, { source: 'winlogbeat', namespace: ns, events, refresh: 'wait_for' });
    assert.equal(report.indexed, events.length);
    const ids = [ID.winCompromise, ID.winBrute];
    const stream = streamMatches('winlogbeat', ns, events).filter((m) => ids.includes(m.correlationId));
    const elastic = await elasticMatches(ns, ids);
    assert.deepEqual(stream.map((m) => `${m.correlationId} ${JSON.stringify(m.group)}`), [`${ID.winCompromise} {"IpAddress":"198.51.100.20","TargetUserName":"alice"}`]);
    assert.deepEqual(summary(elastic), summary(stream));
  });

  test('the candidate aggregation drops groups that cannot reach the condition before any event is read', async () => {
    const ns = uniqueNamespace('prune');
    const lines: string[] = [];
    for (let i = 0; i < 9; i++) lines.push(sshLine(i, 'Failed password for root from 203.0.113.99 port 1 ssh2'));
    for (let i = 0; i < 10; i++) lines.push(sshLine(i * 400, 'Failed password for root from 203.0.113.98 port 1 ssh2')); // 10, but never 10 within 5 min
    const events = lines.map((message, i) => ({ doc: { message }, id: `${ns}-${i}` }));
    await writeSourceEvents(ctx.client, pipelines, { source: 'syslog', namespace: ns, events, refresh: 'wait_for' });
    const r = await evaluateCorrelationOverElastic(ctx.client, loaded.set, ID.sshBrute, { from: at(-60), to: at(5000), namespace: ns });
    assert.deepEqual([r.groupsSeen, r.candidateGroups, r.eventsRead, r.matches.length], [2, 0, 0, 0]);
  });
});
