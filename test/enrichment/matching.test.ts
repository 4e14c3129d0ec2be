import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndicatorSet, buildIocPipelineParams, findMatches, type LatestIndicator } from '../../src/intel/enrichment/index.ts';
import { CidrTrie } from '../../src/intel/enrichment/cidr-trie.ts';
import { parseCidr, parseIpv4, parseIpv6 } from '../../src/intel/enrichment/ip.ts';
import { matchIndicators } from '../../src/ingest/ioc-match.ts';

function indicator(type: LatestIndicator['threat']['indicator']['type'], value: string, score = 80, extra: Partial<LatestIndicator['nyx']['indicator']> = {}): LatestIndicator {
  const cidr = value.includes('/');
  const fields = type === 'domain-name' ? { domain: value } : type === 'url' ? { url: { full: value } } : type === 'file' ? { file: { hash: { sha256: value } } } : type === 'email-addr' ? { email: { address: value } } : cidr ? {} : { ip: value };
  const now = new Date().toISOString();
  return {
    '@timestamp': now,
    threat: { indicator: { ...fields, type, provider: ['P'], confidence: score >= 70 ? 'High' : 'Medium', first_seen: now, last_seen: now, modified_at: now } },
    nyx: { indicator: { key: `${type}:${value}`, value, providers: ['P'], feeds: ['f'], confidence_score: score, expires_at: new Date(Date.now() + 86_400_000).toISOString(), active: true, revoked: false, ...(cidr ? { cidr: value } : {}), ...extra } },
  };
}

test('IP parsing: IPv4 strictness, IPv6 spellings, CIDR host bits', () => {
  assert.equal(parseIpv4('256.1.1.1'), undefined);
  assert.equal(parseIpv4('1.2.3'), undefined);
  assert.equal(parseIpv4('01.2.3.4') !== undefined, true);
  assert.deepEqual(parseIpv6('2001:db8::1'), parseIpv6('2001:0DB8:0:0:0:0:0:1'));
  assert.deepEqual(parseIpv6('::ffff:1.2.3.4')?.slice(12), new Uint8Array([1, 2, 3, 4]));
  assert.equal(parseIpv6('1::2::3'), undefined);
  assert.deepEqual(parseCidr('10.1.2.3/8')?.bytes, new Uint8Array([10, 0, 0, 0]));
  const trie = new CidrTrie(128);
  trie.set(parseCidr('2001:db8::/32')!.bytes, 32, 1);
  trie.set(parseCidr('2001:db8:1::/48')!.bytes, 48, 2);
  assert.equal(trie.longestMatch(parseIpv6('2001:db8:1::5')!), 2);
  assert.equal(trie.longestMatch(parseIpv6('2001:db8:2::5')!), 1);
  assert.equal(trie.longestMatch(parseIpv6('2001:db9::5')!), -1);
});

test('the in-memory set matches every kind, IPv6 in any spelling, the most specific network, and forgets removed values', () => {
  const set = new IndicatorSet();
  for (const ind of [
    indicator('ipv6-addr', '2001:db8::bad'),
    indicator('ipv6-addr', '2001:db8:ff::/48', 40),
    indicator('ipv4-addr', '203.0.113.0/24', 30),
    indicator('ipv4-addr', '203.0.113.128/25', 60),
    indicator('url', 'http://bad.example/x'),
    indicator('email-addr', 'phish@bad.example'),
  ]) set.apply(ind);
  const doc = {
    source: { ip: '2001:DB8:0::BAD' },
    destination: { ip: '203.0.113.200' },
    client: { ip: '2001:db8:ff:1::9' },
    url: { full: 'HTTP://bad.example/x' },
    email: { from: { address: 'phish@bad.example' } },
  };
  const matches = findMatches(doc, set);
  assert.deepEqual(matches.map((m) => [m.field, m.hit.score]), [
    ['source.ip', 80], ['destination.ip', 60], ['client.ip', 40], ['url.full', 80], ['email.from.address', 80],
  ]);
  set.apply(indicator('ipv4-addr', '203.0.113.128/25', 60, { active: false }));
  assert.equal(findMatches({ destination: { ip: '203.0.113.200' } }, set)[0]?.hit.score, 30, 'the wider network still holds');
});

test('the pipeline twin, fed the generated params, tags what the in-memory matcher tags for the fields both read', () => {
  const set = new IndicatorSet();
  for (const ind of [indicator('ipv4-addr', '198.51.100.7'), indicator('ipv4-addr', '192.0.2.0/24'), indicator('ipv4-addr', '192.0.2.128/25', 90), indicator('domain-name', 'bad.example'), indicator('url', 'http://bad.example/x'), indicator('file', 'c'.repeat(64))]) set.apply(ind);
  const { params } = buildIocPipelineParams(set, 100);
  const docs = [
    { source: { ip: '198.51.100.7' } },
    { destination: { ip: '192.0.2.200', domain: 'bad.example' } },
    { destination: { ip: '192.0.2.5' } },
    { url: { full: 'http://bad.example/x' } },
    { file: { hash: { sha256: 'c'.repeat(64) } } },
    { destination: { ip: '192.0.3.1' } },
  ];
  for (const d of docs) {
    const twin = structuredClone(d) as Record<string, unknown>;
    matchIndicators(twin, params as unknown as Record<string, unknown>);
    const fromTwin = ((twin.threat as { enrichments?: Array<{ matched: { field: string; atomic: string }; indicator: { confidence: string } }> } | undefined)?.enrichments ?? []).map((e) => [e.matched.field, e.matched.atomic, e.indicator.confidence]);
    const native = findMatches(d, set).map((m) => [m.field, m.atomic, m.hit.confidence]);
    assert.deepEqual(fromTwin, native, JSON.stringify(d));
  }
});
