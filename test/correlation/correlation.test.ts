import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadFieldMappings, loadSigmaRules, parseSigmaFile, parseSigmaRule, SigmaRuleSet, validateRules, type EcsDocument } from '../../src/detection/sigma/index.ts';
import { compileCorrelationQuery, CorrelationState, loadCorrelationRules, periodicity, runCorrelationSelfTests, correlationOnlyRuleIds, alertingCorrelationIds } from '../../src/detection/correlation/index.ts';

const RULES = new URL('../../rules', import.meta.url).pathname;
const mappings = loadFieldMappings(join(RULES, 'mappings'));
const dir = mkdtempSync(join(tmpdir(), 'nyx-corr-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = (name: string, outcome: string) =>
  `title: ${name}\nname: ${name}\nlevel: low\ntags: [attack.credential_access, attack.t1110]\nlogsource: {product: linux, service: auth}\ndetection:\n  s:\n    event.outcome: ${outcome}\n  condition: s\n`;

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function feed(state: CorrelationState, matcher: SigmaRuleSet, docs: EcsDocument[]) {
  return docs.flatMap((doc, i) => state.observe({ doc, ruleIds: matcher.match(doc).map((m) => m.ruleId), id: `e${i}` }));
}

const t = (s: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + s * 1000).toISOString();

describe('correlation rule pack', () => {
  test('every correlation fires on its positive sequences and on none of its negatives', () => {
    const result = runCorrelationSelfTests(join(RULES, 'sigma'), mappings);
    assert.deepEqual(result.failures, []);
    assert.ok(result.correlations >= 9, `${result.correlations} correlations`);
    assert.ok(result.sequences >= 20);
  });

  test('the pack validates: correlations carry ATT&CK tags and a level; base rules stay quiet on their own', () => {
    const v = validateRules(join(RULES, 'sigma'), mappings);
    assert.deepEqual(v.issues.filter((i) => i.severity === 'error'), []);
    const { set } = loadCorrelationRules(join(RULES, 'sigma'), mappings);
    const alerting = [...alertingCorrelationIds(set)].map((id) => set.byId.get(id)!.rule.title).sort();
    assert.ok(alerting.includes('SSH Account Compromise After Repeated Failures'));
    assert.ok(!alerting.includes('Five SSH Failures For One Account'), 'the inner correlation of a chain is not an alert of its own');
    const quiet = [...correlationOnlyRuleIds(set)].map((id) => set.baseRules.get(id)!.rule.name).sort();
    assert.deepEqual(quiet, ['outbound_connection', 'ssh_auth_failure', 'ssh_auth_success', 'windows_logon_failure', 'windows_logon_success']);
  });
});

describe('correlation documents', () => {
  test('multi-document files hold rules and correlations; parseSigmaRule still rejects them', () => {
    const text = `${base('fail', 'failure')}---\n${base('ok', 'success')}---\ntitle: burst\ncorrelation:\n  type: event_count\n  rules: [fail]\n  group-by: source.ip\n  timespan: 90s\n  condition: {gte: 3}\n`;
    const docs = parseSigmaFile(text, 'multi.yml');
    assert.deepEqual(docs.map((d) => d.kind), ['rule', 'rule', 'correlation']);
    const c = docs[2]!.kind === 'correlation' ? docs[2]!.correlation : undefined;
    assert.deepEqual([c?.groupBy, c?.timespanMs, c?.line], [['source.ip'], 90_000, 21]);
    assert.throws(() => parseSigmaRule(text, 'multi.yml'), /multi\.yml:\d+: rule collections/);
  });

  test('bad correlations are rejected with file, line and reason; the other rules keep loading', () => {
    const cases: Array<[string, RegExp]> = [
      ['title: a\ncorrelation:\n  type: value_count\n  rules: [x]\n  group-by: [a]\n  timespan: 5m\n  condition: {gte: 3}\n', /:7: a value_count correlation needs 'condition.field'/],
      ['title: a\ncorrelation:\n  type: event_count\n  rules: [x]\n  group-by: [a]\n  timespan: 5 minutes\n  condition: {gte: 3}\n', /:6: 'correlation.timespan': expected a positive timespan/],
      ['title: a\ncorrelation:\n  type: event_count\n  rules: [x]\n  group-by: [a]\n  timespan: 5m\n', /:3: a event_count correlation needs a condition/],
      ['title: a\ncorrelation:\n  type: sometimes\n  rules: [x]\n  group-by: [a]\n  timespan: 5m\n', /:3: 'correlation.type'/],
      ['title: a\ncorrelation:\n  type: temporal\n  rules: [x]\n  group-by: [a]\n  timespan: 5m\n', /:4: a temporal correlation needs at least two rules/],
      ['title: a\ncorrelation:\n  type: temporal\n  rules: [x, y]\n  group-by: [a]\n  timespan: 5m\n  periodic: {max_jitter: 0.1}\n', /:7: 'periodic' \(Nyx extension\) only applies to event_count/],
    ];
    for (const [text, reason] of cases) assert.throws(() => parseSigmaFile(text, 'bad.yml'), (err: Error) => reason.test(err.message), text);

    const sub = mkdtempSync(join(dir, 'refs-'));
    writeFileSync(join(sub, 'fail.yml'), base('fail', 'failure'));
    writeFileSync(join(sub, 'dangling.yml'), 'title: dangling\ncorrelation:\n  type: event_count\n  rules: [nope]\n  group-by: [source.ip]\n  timespan: 5m\n  condition: {gte: 3}\n');
    writeFileSync(join(sub, 'good.yml'), 'title: good\ncorrelation:\n  type: event_count\n  rules: [fail]\n  group-by: [source.ip]\n  timespan: 5m\n  condition: {gte: 3}\n');
    const { set, errors } = loadCorrelationRules(sub, mappings);
    assert.deepEqual(errors.map((e) => e.message), [`${join(sub, 'dangling.yml')}:1: correlation 'dangling': references 'nope', which is neither a loaded rule (id or name) nor a correlation`]);
    assert.deepEqual(set.correlations.map((c) => c.rule.title), ['good']);
    assert.equal(loadSigmaRules(sub, mappings).rules.length, 1);
  });
});

describe('stream evaluator', () => {
  const file = write(
    'pack.yml',
    `${base('fail', 'failure')}---\n${base('ok', 'success')}---\n` +
      'title: few failures\nid: few\ncorrelation:\n  type: event_count\n  rules: [fail]\n  group-by: [source.ip]\n  timespan: 10m\n  condition: {lt: 3}\n---\n' +
      'title: both\nid: both\ncorrelation:\n  type: temporal\n  rules: [ok, fail]\n  group-by: [host]\n  timespan: 1m\n  aliases:\n    host:\n      ok: host.name\n      fail: observer.hostname\n---\n' +
      'title: many\nid: many\ncorrelation:\n  type: event_count\n  rules: [fail]\n  group-by: [source.ip]\n  timespan: 1m\n  condition: {gte: 2}\n',
  );
  const { set, rules, errors } = loadCorrelationRules(file, mappings);
  const matcher = new SigmaRuleSet(rules);

  test('loads', () => assert.deepEqual(errors, []));

  test('an upper-bound condition (lt) is judged when the window has passed, not before', () => {
    const state = new CorrelationState(set);
    const docs = [0, 30].map((s) => ({ '@timestamp': t(s), event: { outcome: 'failure' }, source: { ip: '192.0.2.1' } }));
    assert.deepEqual(feed(state, matcher, docs).filter((m) => m.correlationId === 'few'), []);
    const closed = state.advance(Date.parse(t(601)));
    assert.deepEqual(closed.map((m) => [m.correlationId, m.groupKey, m.value]), [['few', 'source.ip=192.0.2.1', 2]]);
  });

  test('temporal with aliases groups different fields of different rules; order does not matter', () => {
    const state = new CorrelationState(set);
    const out = feed(state, matcher, [
      { '@timestamp': t(0), event: { outcome: 'success' }, host: { name: 'web1' } },
      { '@timestamp': t(20), event: { outcome: 'failure' }, observer: { hostname: 'web1' }, source: { ip: '192.0.2.9' } },
    ]).filter((m) => m.correlationId === 'both');
    assert.deepEqual(out.map((m) => [m.group, m.value]), [[{ host: 'web1' }, 2]]);
    // The aliases make the group field differ per rule: no single ECS field for Elasticsearch to group on.
    assert.match(compileCorrelationQuery(set, 'both', { from: t(0), to: t(60) }).noCandidates ?? '', /aliases/);
  });

  test('memory is bounded: the least recently touched group is evicted, events without the group field join none', () => {
    const state = new CorrelationState(set, { maxGroupsPerCorrelation: 2 });
    const docs = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.1'].map((ip, i) => ({ '@timestamp': t(i), event: { outcome: 'failure' }, source: { ip } }));
    docs.push({ '@timestamp': t(5), event: { outcome: 'failure' } } as never);
    const fired = feed(state, matcher, docs).filter((m) => m.correlationId === 'many');
    assert.deepEqual(fired, [], '192.0.2.1 was evicted before its second failure');
    assert.ok(state.evictedGroups >= 1);
    assert.ok(state.groupCount <= 2 * set.correlations.length);
  });

  test('a group keeps only its newest document (the alert context), not one per occurrence', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const state = new CorrelationState(set);
    const refs: Array<WeakRef<EcsDocument>> = [];
    // 50 failures from one address, the last one arriving late: 'few' (a 10-minute window, lt 3) holds all 50
    // occurrences until the window closes, yet needs only the newest document.
    for (const s of [...Array.from({ length: 49 }, (_, i) => i + 1), 0]) {
      const doc: EcsDocument = { '@timestamp': t(s), event: { outcome: 'failure' }, source: { ip: '192.0.2.50' }, seq: s };
      refs.push(new WeakRef(doc));
      state.observe({ doc, ruleIds: matcher.match(doc).map((m) => m.ruleId) });
    }
    await new Promise((resolve) => setImmediate(resolve)); // WeakRefs let go only after the current job
    gc();
    const alive = refs.map((r) => (r.deref()?.seq as number | undefined)).filter((s) => s !== undefined);
    assert.ok(alive.includes(49), 'the newest occurrence keeps its document');
    assert.ok(alive.length <= 2, `documents still held: ${alive.length} (${alive.join(', ')})`);
    // The window closes with 50 occurrences: not < 3, no match; the state is empty afterwards.
    assert.deepEqual(state.advance(Date.parse(t(49 + 601))).filter((m) => m.correlationId === 'few'), []);
  });

  test('the match context is the newest event, also when a late one completes the group', () => {
    const state = new CorrelationState(set);
    const newest = { '@timestamp': t(30), event: { outcome: 'failure' }, source: { ip: '192.0.2.60' }, seq: 30 };
    const late = { '@timestamp': t(10), event: { outcome: 'failure' }, source: { ip: '192.0.2.60' }, seq: 10 };
    const fired = feed(state, matcher, [newest, late]).filter((m) => m.correlationId === 'many');
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.lastEvent.seq, 30);
    assert.equal(fired[0]!.windowEnd, t(30));
  });

  test('after firing, a group needs fresh events: one burst is one match', () => {
    const state = new CorrelationState(set);
    const docs = [0, 1, 2, 3].map((s) => ({ '@timestamp': t(s), event: { outcome: 'failure' }, source: { ip: '192.0.2.7' } }));
    assert.equal(feed(state, matcher, docs).filter((m) => m.correlationId === 'many').length, 2);
  });

  test('periodicity: even gaps have no jitter; uneven ones do', () => {
    assert.deepEqual(periodicity([0, 60_000, 120_000, 180_000]), { meanIntervalMs: 60_000, jitter: 0 });
    assert.ok(periodicity([0, 7_000, 250_000, 290_000, 1_100_000])!.jitter > 0.5);
    assert.equal(periodicity([0, 1]), undefined);
  });
});
