// pipelines/netflow.yml run in process over test/fixtures/netflow/netflow.ndjson: records as Logstash's netflow
// codec (v5, v9, IPFIX; old all-string versions) and Filebeat's netflow input emit them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSource, fixtureLines, runOk, get, expectFields, expectPipelineError } from '../support/pipeline-assert.ts';


const pipeline = compileSource('netflow');
const lines = fixtureLines('netflow', 'netflow.ndjson');
const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
const FIRST_MALFORMED = 18;

// community_id values were computed independently (Community ID v1, seed 0) for the fixtures' 5-tuples.
const expected: Record<number, Record<string, unknown>> = {
  0: {
    '@timestamp': '2025-03-13T10:40:05.000Z', 'source.ip': '10.0.0.55', 'source.port': 51234, 'destination.ip': '81.2.69.142', 'destination.port': 443,
    'network.bytes': 5120, 'network.packets': 12, 'source.bytes': 5120, 'source.packets': 12, 'network.transport': 'tcp', 'network.iana_number': '6',
    'network.type': 'ipv4', 'event.start': '2025-03-13T10:39:00.100Z', 'event.end': '2025-03-13T10:39:58.900Z', 'observer.ip': '192.0.2.254',
    'observer.type': 'router', 'observer.ingress.interface.id': 2, 'observer.egress.interface.id': 1, 'destination.geo.country_iso_code': 'GB',
    'source.geo': undefined, 'network.direction': 'outbound', 'network.community_id': '1:o1c2BsopVim65Y7aYmJMdDux1VM=', 'source.as': undefined,
    'related.ip': ['10.0.0.55', '81.2.69.142'], host: undefined, 'netflow.in_bytes': 5120,
  },
  1: { 'network.transport': 'udp', 'network.iana_number': '17', 'network.direction': 'internal', 'network.bytes': 74, 'network.community_id': '1:9Xc7hCi16My1S/b5F36MMlXbX34=' },
  2: { 'source.ip': '89.160.20.128', 'source.geo.country_iso_code': 'SE', 'network.direction': 'inbound', 'network.bytes': 3100, 'observer.ip': '198.51.100.1', 'network.community_id': '1:Z+Wm7657bzgZEinPuQANw/rVj4o=', 'event.end': '2025-03-13T10:38:42.500Z' },
  3: {
    '@timestamp': '2014-03-04T20:37:49.000Z', 'source.port': 50284, 'destination.port': 53, 'network.bytes': 145, 'network.packets': 2, 'network.iana_number': '17',
    'network.transport': 'udp', 'event.start': '2014-03-04T20:37:40.000Z', 'observer.ip': '172.20.140.10', 'source.as': undefined, 'destination.as': undefined,
    'network.direction': 'outbound', 'destination.geo.country_iso_code': 'US', 'network.community_id': '1:K2RVA8LXmp4yeTOo3zAZwM2m3g8=',
  },
  4: { 'network.transport': 'ipv6-icmp', 'network.iana_number': '58', 'network.type': 'ipv6', 'source.ip': '2001:db8:10::5', 'destination.geo.country_iso_code': 'DK', 'network.community_id': undefined, 'network.direction': 'external', 'network.bytes': 416 },
  5: { 'network.bytes': 120000, 'source.geo.country_iso_code': 'DK', 'network.type': 'ipv6', 'network.community_id': '1:1nM8hsWU5+IXZNGXNm8aCtrSvGg=' },
  6: { 'network.transport': 'gre', 'network.iana_number': '47', 'source.port': undefined, 'network.community_id': undefined, 'network.direction': 'external', 'network.packets': 100 },
  7: { 'network.transport': 'esp', 'network.iana_number': '50', 'source.as.number': 4837, 'destination.as.number': 64512, 'source.geo.country_iso_code': 'CN', 'network.direction': 'inbound' },
  8: { 'network.bytes': 61, 'network.packets': 1, 'source.bytes': 61, 'observer.ip': '192.0.2.252', 'destination.geo.country_iso_code': 'US', 'network.direction': 'outbound', 'network.community_id': '1:wdc7kWjxTK770UQXgaVNf6J5Ogw=' },
  9: { 'event.start': new Date(1741862340100).toISOString(), 'event.end': new Date(1741862399900).toISOString(), 'network.bytes': 1048576, 'network.direction': 'internal', 'network.community_id': '1:PvJc3mXLzv2jx36s/u7HPYlUCH0=' },
  10: {
    'source.ip': '10.0.0.44', 'source.port': 50500, 'destination.ip': '89.160.20.128', 'destination.port': 8443, 'network.bytes': 6600, 'network.packets': 16,
    'network.transport': 'tcp', 'event.start': '2025-03-13T10:39:05.123Z', 'event.end': '2025-03-13T10:39:09.456Z', 'observer.ingress.interface.id': 3,
    'observer.egress.interface.id': 1, 'destination.geo.country_iso_code': 'SE', 'network.direction': 'outbound', 'observer.ip': '192.0.2.253',
    'network.community_id': '1:BbJo1OakokfmFKVk2q1LGBA7qFE=',
  },
  11: { 'source.ip': '2001:db8:10::9', 'destination.geo.country_iso_code': 'US', 'network.type': 'ipv6', 'network.transport': 'udp', 'network.community_id': '1:hQGL2/Jb/oFzO6MXVWC+Cj0innI=' },
  12: {
    'network.community_id': '1:precomputed-by-filebeat=', 'network.direction': 'unknown', 'network.iana_number': '6', 'event.start': '2025-03-13T10:39:30.000Z',
    'observer.ip': '192.0.2.250', 'destination.geo.country_iso_code': 'US', 'source.bytes': 2100, 'network.bytes': 2100, 'event.action': 'netflow_flow', 'flow.id': 'nCJY2mF6r0A',
    'agent.type': 'filebeat',
  },
  13: { 'event.action': 'netflow_flow', 'observer.ip': '2001:db8::fe', 'network.direction': 'outbound', 'network.iana_number': '17', 'network.bytes': 420, 'event.start': '2025-03-13T10:39:50.000Z', 'network.community_id': '1:X7rh11pEYUF0/JMtfOZcog+L/Us=' },
  14: { 'source.ip': 'fe80::1c2b:3cff:fe4d:5e6f', 'source.port': 546, 'destination.port': 547, 'network.transport': 'udp', 'network.type': 'ipv6', 'network.direction': 'internal', 'observer.ip': '192.0.2.249', 'network.bytes': 180, 'network.community_id': '1:wwUz+8Y0LaiFGwdkrxO12JtuCPU=' },
  15: { 'network.transport': 'icmp', 'network.iana_number': '1', 'destination.as.number': 15169, 'source.as': undefined, 'destination.bytes': 196, 'destination.packets': 2, 'network.bytes': 196, 'destination.geo.country_iso_code': 'US', 'network.community_id': undefined },
  16: { 'network.bytes': 64, 'network.packets': 1, 'event.start': '2025-03-13T10:39:58.000Z', 'network.direction': 'inbound', 'source.geo.country_iso_code': 'CN', 'destination.port': 25, 'network.community_id': '1:0nVy544IvZgDHjGYRioty+oiQxQ=' },
  17: { '@timestamp': '2025-03-13T10:40:05.000Z', message: undefined, 'source.ip': '10.0.0.66', 'observer.ip': '192.0.2.254', 'network.bytes': 777, 'log.file.path': '/var/log/netflow/flows.ndjson', 'network.community_id': '1:iDo/Yt4wOvB5N6hnXmoa2UeU52Y=' },
};

describe('netflow fixtures', () => {
  test('fixture count', () => assert.equal(records.length, 25));
  records.forEach((record, i) => {
    const label = `record ${i + 1}: ${lines[i]!.slice(0, 70)}`;
    const original = typeof record.message === 'string' ? record.message : undefined;
    if (i >= FIRST_MALFORMED) {
      test(`${label} is kept with error.message`, () => expectPipelineError(runOk(pipeline, record), original));
      return;
    }
    test(label, () => {
      const doc = runOk(pipeline, record);
      expectFields(doc, {
        'event.kind': 'event', 'error.message': undefined, 'event.original': original, 'event.category': ['network'], 'event.type': ['connection'],
        'event.dataset': 'netflow', 'event.action': 'network-flow', ...(expected[i] ?? {}),
      });
      for (const path of ['network.bytes', 'network.packets', 'source.port', 'destination.port']) {
        const value = get(doc, path);
        if (value !== undefined) assert.equal(typeof value, 'number', `${path} is a number`);
      }
      assert.equal('_tmp' in doc, false);
    });
  });
});

describe('netflow failures name the processor', () => {
  const err = (i: number) => String(get(runOk(pipeline, records[i]!), 'error.message'));
  test('a byte counter that is not a number', () => assert.match(err(18), /^convert processor \[bytes\].*lots/));
  test('an address that is not an IP', () => assert.match(err(19), /^convert processor \[source_ip\]/));
  test('a flow start that is not a date', () => assert.match(err(20), /^date processor \[flow_start\]/));
  test('a protocol name instead of a number', () => assert.match(err(21), /^convert processor \[protocol\]/));
  test('a truncated JSON record', () => assert.match(err(22), /^json processor \[record_from_message\]/));
  test('a text line that is not a record', () => assert.match(err(23), /^fail processor \[require_netflow\]/));
  test('a string where the netflow object belongs; the exporter string `host` still moves away', () => {
    const doc = runOk(pipeline, records[24]!);
    assert.match(String(get(doc, 'error.message')), /^fail processor \[require_netflow\]/);
    expectFields(doc, { host: undefined, 'observer.ip': '192.0.2.254' });
  });
});
