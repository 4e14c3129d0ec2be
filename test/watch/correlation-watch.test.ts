import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertDocument } from '../../src/alerts/index.ts';
import { createStreamDetector, loadDetectionSetup, type StreamDetector, type StreamDetectorOptions } from '../../src/detection/stream/index.ts';
import { RuleWatcher, watchStatus, type RuleRunReport } from '../../src/detection/watch/index.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { prepareSourceEvents, sendPreparedEvents } from '../../src/ingest/bulk-writer.ts';
import { runNyx } from '../support/cli.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { alertsIn, bootstrapped, eventually, startNyx, testConfig, watchSettings } from './support.ts';

// The product runs correlation rules: `nyx watch` schedules them with checkpoints and leased shards, and the
// stream path feeds them per namespace; both store one alert per correlation + group + window under the same id,
// and the rules that only feed correlations (generate: false) raise nothing of their own.

const setup = loadDetectionSetup(testConfig());
after(async () => (await bootstrapped()).client.close());

const TITLE = {
  brute: 'SSH Brute Force From One Source',
  compromise: 'SSH Account Compromise After Repeated Failures',
  failure: 'SSH Authentication Failure',
  success: 'SSH Successful Login',
};

/** An RFC 5424 sshd line at base + offset (tests use recent times, so a first watcher run covers them). */
function sshLine(base: number, offsetSeconds: number, text: string): string {
  return `<38>1 ${new Date(base + offsetSeconds * 1000).toISOString()} bastion-01 sshd 24530 - - ${text}`;
}

type Prepared = ReturnType<typeof prepareSourceEvents>;
let stored = 0;

/** Stores the lines as the ingest path does (source pipeline, deterministic ids), searchable at once. */
async function store(ns: string, lines: string[]): Promise<Prepared> {
  const { client, caps } = await bootstrapped();
  const pipelines = SourcePipelines.create(testConfig(), caps);
  const prepared = prepareSourceEvents(pipelines, { source: 'syslog', namespace: ns, events: lines.map((message) => ({ doc: { message }, id: `${ns}-${stored++}` })) });
  const report = await sendPreparedEvents(client, prepared, 'wait_for');
  assert.equal(report.indexed, lines.length, JSON.stringify(report.rejected));
  return prepared;
}

/** The stored documents through a stream detector, as the ingest API's onStored hook hands them over. */
function stream(detector: StreamDetector, ns: string, prepared: Prepared): Promise<AlertDocument[]> {
  const inCluster = prepared.docs.some((d) => d.doc.event === undefined);
  return detector.detect(
    prepared.docs.map((d) => d.doc),
    { namespace: ns, source: 'syslog', dataStream: prepared.dataStream, agentId: 'test', normalised: !inCluster, ids: prepared.docs.map((d) => d.id) },
  );
}

async function detectorFor(extra: Partial<StreamDetectorOptions> = {}): Promise<StreamDetector> {
  const { client } = await bootstrapped();
  const offline = SourcePipelines.offline(testConfig());
  return createStreamDetector({
    client,
    rules: setup.rules,
    correlations: setup.correlations,
    policy: setup.policy,
    correlationTickMs: 0,
    normalise: (source, doc, dataStream) => offline.normalise(source, structuredClone(doc), { _index: dataStream }).doc as Record<string, unknown>,
    ...extra,
  });
}

async function watcher(ns: string, holder: string): Promise<RuleWatcher> {
  const { client } = await bootstrapped();
  return new RuleWatcher({ client, rules: setup.rules, correlations: setup.correlations, policy: setup.policy, settings: watchSettings(ns, { namespaces: [ns], shards: 2 }), defaultNamespace: 'default', holder });
}

function fired(reports: RuleRunReport[]): RuleRunReport[] {
  return reports.filter((r) => r.alertIds.length);
}

test('the rule set: base rules that only feed correlations are not scheduled or alerted on their own; each alerting correlation is', async () => {
  const titles = setup.rules.map((r) => r.rule.title);
  assert.ok(!titles.includes(TITLE.failure), 'SSH Authentication Failure only feeds correlations');
  assert.ok(!titles.includes(TITLE.success));
  const w = await watcher('x', 'x');
  const scheduled = w.correlations.map((c) => c.correlation.rule.title);
  assert.ok(scheduled.includes(TITLE.brute));
  assert.ok(scheduled.includes(TITLE.compromise));
  assert.ok(!scheduled.includes('Five SSH Failures For One Account'), 'the inner correlation of a chain is evaluated by its outer one');
});

test('SSH brute force: the watcher raises exactly one correlation alert, the stream path the same id, and no per-failure alerts; status shows the correlation', async () => {
  const { client } = await bootstrapped();
  const ns = uniqueNamespace('cw');
  const base = Date.now() - 200_000;
  const lines: string[] = [];
  for (let i = 0; i < 12; i++) lines.push(sshLine(base, i * 5, 'Failed password for root from 203.0.113.45 port 40222 ssh2'));
  // Another source below the threshold: nothing.
  for (let i = 0; i < 3; i++) lines.push(sshLine(base, 1 + i * 7, 'Failed password for admin from 198.51.100.7 port 5001 ssh2'));
  const prepared = await store(ns, lines);

  const w = await watcher(ns, `${ns}-a`);
  const reports = await w.runCycle({ force: true });
  const corr = reports.filter((r) => r.kind === 'correlation');
  assert.equal(corr.length, w.correlations.length, 'every alerting correlation ran (both shards held by the only replica)');
  assert.deepEqual(fired(reports).map((r) => [r.kind, r.created]), [['correlation', 1]], JSON.stringify(fired(reports)));
  const stored = await alertsIn(client, ns);
  assert.equal(stored.length, 1);
  const alert = stored[0]!;
  const src = alert._source as { rule: { name: string }; source: { ip: string }; nyx: { alert: { entity: string; evidence: { event_ids: string[] } } } };
  assert.equal(src.rule.name, TITLE.brute);
  assert.equal(src.source.ip, '203.0.113.45');
  assert.equal(src.nyx.alert.entity, 'source.ip=203.0.113.45');
  assert.equal(src.nyx.alert.evidence.event_ids.length, 10);

  // A second run (overlap: checkpoint − timespan) and a second replica find the same window: nothing new.
  const again = await w.runCycle({ force: true });
  const other = await watcher(ns, `${ns}-b`);
  const byOther = await other.runCorrelation(other.correlations.find((c) => c.correlation.rule.title === TITLE.brute)!, undefined);
  assert.deepEqual(fired(again).map((r) => [r.created, r.duplicates]), [[0, 1]]);
  assert.deepEqual([byOther.created, byOther.duplicates, byOther.alertIds], [0, 1, [alert._id]]);

  // The stream path over the same stored events: the same id, found already written, and no base-rule alerts.
  const detector = await detectorFor();
  const streamed = await stream(detector, ns, prepared);
  assert.deepEqual(streamed.map((a) => a.rule.name), [TITLE.brute]);
  assert.equal(detector.stats.duplicates, 1);
  assert.equal(detector.stats.created, 0);
  assert.equal((await alertsIn(client, ns)).length, 1);

  const status = await watchStatus(client, setup.rules, watchSettings(ns, { namespaces: [ns], shards: 2 }), { correlations: setup.correlations });
  const row = status.find((r) => r.title === TITLE.brute)!;
  assert.equal(row.kind, 'correlation');
  assert.equal(row.holder, `${ns}-a`);
  assert.ok(row.checkpoint && row.last_run);
  assert.equal(row.last_hits! >= 12, true, 'the failures were read');
  assert.equal(status.filter((r) => r.kind === 'correlation').length, w.correlations.length);
  await w.stop();
  await other.stop();
});

test('five failures then a success: the compromise alert, from the stream path first and then the watcher under the same id', async () => {
  const { client } = await bootstrapped();
  const ns = uniqueNamespace('cc');
  const base = Date.now() - 150_000;
  const lines: string[] = [];
  for (let i = 0; i < 5; i++) lines.push(sshLine(base, i * 4, 'Failed password for oracle from 198.51.100.20 port 6000 ssh2'));
  lines.push(sshLine(base, 40, 'Accepted password for oracle from 198.51.100.20 port 6000 ssh2'));
  // Same account, other source, success without failures: nothing.
  lines.push(sshLine(base, 41, 'Accepted publickey for oracle from 10.20.4.17 port 51544 ssh2'));
  const detector = await detectorFor();
  const streamed = await stream(detector, ns, await store(ns, lines));
  assert.deepEqual(streamed.map((a) => a.rule.name), [TITLE.compromise]);
  assert.equal(detector.stats.created, 1);
  const [alert] = await alertsIn(client, ns);
  const src = alert!._source as { user: { name: string }; source: { ip: string }; nyx: { alert: { entity: string } } };
  assert.equal(src.nyx.alert.entity, 'source.ip=198.51.100.20,user.name=oracle');
  assert.equal(src.user.name, 'oracle');

  const w = await watcher(ns, `${ns}-a`);
  const reports = await w.runCycle({ force: true });
  await w.stop();
  assert.deepEqual(
    fired(reports).map((r) => [r.ruleId, r.created, r.duplicates, r.alertIds]),
    [[(alert!._source as { rule: { id: string } }).rule.id, 0, 1, [alert!._id]]],
  );
  assert.equal((await alertsIn(client, ns)).length, 1);
});

test('the stream path keeps correlation state per namespace, bounded, and frees it when the windows pass', async () => {
  const { client } = await bootstrapped();
  const a = uniqueNamespace('cs');
  const b = uniqueNamespace('cs');
  const detector = await detectorFor({ correlationLimits: { maxGroupsPerCorrelation: 4 } });
  const base = Date.now() - 100_000;
  // Tenant a: 5 failures from one source; tenant b: 5 more from the same address. Apart, neither is a brute force.
  const five = (user: string) => Array.from({ length: 5 }, (_, i) => sshLine(base, i * 3, `Failed password for ${user} from 203.0.113.99 port 7000 ssh2`));
  await stream(detector, a, await store(a, five('root')));
  await stream(detector, b, await store(b, five('root')));
  // Twenty sources in tenant a: at most 4 groups per correlation are kept.
  const many = await store(a, Array.from({ length: 20 }, (_, i) => sshLine(base, 20 + i, `Failed password for root from 192.0.2.${i + 1} port 7000 ssh2`)));
  await stream(detector, a, many);
  assert.equal(detector.stats.correlationMatches, 0, 'tenants never share a group');
  assert.ok(detector.stats.correlationGroups <= 2 * 4 * setup.correlations.correlations.length, `bounded: ${detector.stats.correlationGroups}`);
  assert.ok(detector.stats.correlationGroups > 0);
  assert.deepEqual(await detector.advance(Date.now() + 3_600_000), []);
  assert.equal(detector.stats.correlationGroups, 0, 'passed windows are freed');
  assert.deepEqual([...(await alertsIn(client, a)), ...(await alertsIn(client, b))], []);
  detector.close();
});

test('a real `nyx serve`: syslog lines posted by an agent raise one SSH brute force alert on the stream path and none per failure; the watcher finds the same id', async () => {
  const { client } = await bootstrapped();
  const env = { ELASTICSEARCH_URL: testElasticUrl(), NYX__SERVE__AUTH_CACHE_MS: '0' };
  const serve = startNyx(['serve', '--port', '0'], env);
  try {
    const url = (await serve.waitFor(/ingest API on (http:\/\/\S+)/))[1]!;
    assert.match(serve.stderr(), /stream detection: \d+ Sigma rules and \d+ correlations/);
    const ns = uniqueNamespace('csv');
    const token = await runNyx(['agents', 'token', 'create', '--namespace', ns, '--ttl', '1h'], env);
    assert.equal(token.code, 0, token.stderr);
    const enrolled = await fetch(`${url}/api/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: token.stdout.trim(), hostname: 'bastion-01', os: 'linux 6.1', ip: '192.0.2.10', version: '0.1.0' }) });
    assert.equal(enrolled.status, 201);
    const { agent_key } = (await enrolled.json()) as { agent_key: string };
    const base = Date.now() - 120_000;
    const events = Array.from({ length: 12 }, (_, i) => ({
      ts: new Date(base + i * 4000).toISOString(),
      category: 'syslog',
      host: 'bastion-01',
      seq: i + 1,
      raw: sshLine(base, i * 4, `Failed password for root from 203.0.113.77 port ${41000 + i} ssh2`),
    }));
    // Two requests: the burst spans batches, as an agent's would.
    for (const batch of [events.slice(0, 6), events.slice(6)]) {
      const res = await fetch(`${url}/api/ingest`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-agent-key': agent_key }, body: JSON.stringify(batch) });
      assert.equal(((await res.json()) as { stored: number }).stored, batch.length);
    }
    const alerts = await eventually(async () => {
      const found = await alertsIn(client, ns);
      return found.length ? found : undefined;
    }, 'the stream correlation alert');
    assert.deepEqual(alerts.map((a) => (a._source as { rule: { name: string } }).rule.name), [TITLE.brute]);

    await client.indices.refresh({ index: `logs-syslog-${ns}` });
    const w = await watcher(ns, `${ns}-a`);
    const reports = await w.runCycle({ force: true });
    await w.stop();
    const brute = fired(reports);
    assert.deepEqual(brute.map((r) => [r.kind, r.created, r.duplicates, r.alertIds]), [['correlation', 0, 1, [alerts[0]!._id]]]);
    assert.equal((await alertsIn(client, ns)).length, 1);
  } finally {
    await serve.stop();
  }
});

test("tenant A's events that say data_stream.namespace B raise A's alert in nyx-alerts-A and nothing in nyx-alerts-B (tenants by index name)", async () => {
  const { client } = await bootstrapped();
  const nsA = uniqueNamespace('cta');
  const nsB = uniqueNamespace('ctb');
  // A day of its own in the past, so a watcher over every tenant sees only this test's events.
  const base = Date.UTC(2019, 0, 1) + Math.floor(Math.random() * 300) * 86_400_000;
  const lines = Array.from({ length: 12 }, (_, i) => sshLine(base, i * 5, 'Failed password for root from 203.0.113.46 port 40222 ssh2'));
  const { caps } = await bootstrapped();
  const prepared = prepareSourceEvents(SourcePipelines.create(testConfig(), caps), { source: 'syslog', namespace: nsA, events: lines.map((message, i) => ({ doc: { message }, id: `${nsA}-${i}` })) });
  // What an agent of A got stored before the ingest path owned data_stream (and what any other writer can still
  // store): documents in A's data stream whose field names B.
  for (const d of prepared.docs) d.doc.data_stream = { type: 'logs', dataset: 'syslog', namespace: nsB };
  const report = await sendPreparedEvents(client, prepared, 'wait_for');
  assert.equal(report.indexed, lines.length, JSON.stringify(report.rejected));

  const w = new RuleWatcher({ client, rules: setup.rules, correlations: setup.correlations, policy: setup.policy, settings: watchSettings(nsA, { shards: 1 }), defaultNamespace: 'default', holder: `${nsA}-w`, now: () => base + 200_000 });
  const reports = await w.runCycle({ force: true });
  await w.stop();
  assert.deepEqual(reports.filter((r) => r.error).map((r) => r.error), []);
  assert.deepEqual(await alertsIn(client, nsB), [], "no alert in B's index from A's events");
  const inA = await alertsIn(client, nsA);
  assert.deepEqual(inA.map((a) => (a._source as { rule: { name: string } }).rule.name), [TITLE.brute]);
  const alert = inA[0]!._source as { nyx: { alert: { namespace: string; evidence: { indices: string[] } } } };
  assert.equal(alert.nyx.alert.namespace, nsA);
  assert.ok(alert.nyx.alert.evidence.indices.every((i) => i.includes(`-${nsA}-`)), JSON.stringify(alert.nyx.alert.evidence.indices));
});
