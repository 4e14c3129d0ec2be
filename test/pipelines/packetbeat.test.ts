// pipelines/packetbeat.yml run in process over test/fixtures/packetbeat/packetbeat.ndjson (one Packetbeat event per line).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSource, fixtureLines, runOk, get, expectFields, expectPipelineError } from '../support/pipeline-assert.ts';


const pipeline = compileSource('packetbeat');
const lines = fixtureLines('packetbeat', 'packetbeat.ndjson');
const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
const FIRST_MALFORMED = 18;

// community_id values below were computed independently (Community ID v1, seed 0) for the tuples in the fixtures.
const expected: Record<number, Record<string, unknown>> = {
  0: {
    'network.transport': 'tcp', 'network.iana_number': '6', 'network.community_id': '1:o1c2BsopVim65Y7aYmJMdDux1VM=', 'network.direction': 'egress',
    'source.port': 51234, 'destination.bytes': 88213, 'network.bytes': 93333, 'source.geo': undefined, 'destination.geo.country_iso_code': 'GB',
    'related.ip': ['10.0.0.55', '81.2.69.142'], 'ecs.version': '8.11.0', 'event.dataset': 'flow', 'event.action': 'network_flow', 'event.type': ['connection'],
  },
  1: {
    'source.port': 5353, 'source.bytes': 420, 'source.packets': 3, 'destination.port': 123, 'destination.bytes': 96, 'network.bytes': 516, 'network.packets': 4,
    'network.transport': 'udp', 'network.iana_number': '17', 'network.community_id': '1:/MOn+E/S0BWy2y84JfgpLMMAy6M=', 'network.direction': 'outbound',
    'destination.geo.country_iso_code': 'SE',
  },
  2: { 'network.protocol': 'dns', 'event.outcome': 'success', 'network.direction': 'internal', 'network.community_id': '1:9Xc7hCi16My1S/b5F36MMlXbX34=', 'event.dataset': 'dns', 'dns.question.name': 'www.example.com' },
  3: {
    'event.outcome': 'failure', 'event.category': ['network'], 'event.type': ['connection', 'protocol'], 'network.iana_number': '17',
    'network.community_id': '1:8iMqyQ8joawuI70j6d35MA8BNek=', 'network.direction': 'internal', 'event.kind': 'event', 'ecs.version': '8.11.0',
  },
  4: { 'event.outcome': 'success', 'source.geo.country_iso_code': 'US', 'network.direction': 'ingress', 'http.response.status_code': 200, 'event.category': ['network', 'web'] },
  5: { 'destination.geo.country_iso_code': 'DK', 'network.type': 'ipv6', 'network.community_id': '1:uIyo+ULnkUWor0t+p9PE6/OWzuE=', 'network.direction': 'outbound', 'network.protocol': 'tls' },
  6: { 'network.iana_number': '1', 'network.community_id': undefined, 'network.direction': 'outbound', 'destination.geo.country_iso_code': 'US', 'event.type': ['connection'], 'network.bytes': 392 },
  7: { 'network.type': 'ipv6', 'network.direction': 'internal', 'network.iana_number': '17' },
  8: {
    'network.transport': 'tcp', 'source.ip': '203.0.113.50', 'source.port': 49822, 'destination.ip': '10.0.0.80', 'destination.port': 80,
    'source.bytes': 355, 'destination.bytes': 1210, 'network.protocol': 'http', 'event.outcome': 'success', 'event.dataset': 'http',
    'network.direction': 'inbound', 'network.community_id': '1:SOyRTGmHacBjnkco+gg0FpfJwrM=', 'network.iana_number': '6', 'process.name': undefined,
    transport: undefined, client_ip: undefined, bytes_in: undefined,
  },
  9: {
    'network.transport': 'udp', 'source.port': 33000, 'destination.port': 53, 'source.bytes': 40, 'destination.bytes': 110, 'event.outcome': 'failure',
    'network.protocol': 'dns', 'network.direction': 'internal', 'network.community_id': '1:pg2w7Sf7SiDRwesTmVSGoLIteaI=',
  },
  10: { 'destination.ip': '172.16.5.9', 'destination.port': 50022, 'source.bytes': 4410, 'source.packets': 33, 'network.transport': 'tcp', 'event.type': ['connection'], 'network.community_id': '1:0PcC2CUXcqpMDOWyZRGeq278k60=', dest: undefined },
  11: { 'network.protocol': 'mysql', 'event.outcome': 'success', 'event.type': ['connection', 'protocol'], 'event.dataset': 'mysql' },
  12: { 'network.iana_number': '132', 'network.community_id': undefined, 'network.direction': 'external', 'network.type': 'ipv4' },
  13: { 'network.direction': 'external', 'source.geo.country_iso_code': 'CN', 'destination.geo.country_iso_code': 'US' },
  14: { 'network.direction': 'inbound', 'source.geo.country_iso_code': 'SE', 'destination.geo': undefined },
  15: { 'host.name': 'sensor-3', 'network.direction': 'internal', 'event.outcome': 'success', 'network.protocol': 'http', 'network.community_id': '1:vdG8rmNzR2i8Lih7qIVSrUvTtyw=' },
  16: { '@timestamp': '2025-03-13T10:30:00.000Z', message: undefined, 'source.ip': '10.0.0.5', 'destination.geo.country_iso_code': 'GB', 'ecs.version': '8.11.0', 'network.iana_number': '6' },
  17: { 'network.transport': 'udp', 'source.ip': '10.0.0.6', 'destination.port': 53, 'event.outcome': 'success', message: undefined },
};

describe('packetbeat fixtures', () => {
  test('fixture count', () => assert.equal(records.length, 23));
  records.forEach((record, i) => {
    const label = `record ${i + 1}: ${lines[i]!.slice(0, 70)}`;
    const original = typeof record.message === 'string' ? record.message : undefined;
    if (i >= FIRST_MALFORMED) {
      test(`${label} is kept with error.message`, () => expectPipelineError(runOk(pipeline, record), original));
      return;
    }
    test(label, () => {
      const doc = runOk(pipeline, record);
      expectFields(doc, { 'event.kind': 'event', 'error.message': undefined, 'event.original': original, 'event.category': ['network'], ...(expected[i] ?? {}) });
      assert.ok(get(doc, 'event.ingested'));
      assert.equal('_tmp' in doc, false);
    });
  });
});

describe('packetbeat failures name the processor', () => {
  const err = (i: number) => String(get(runOk(pipeline, records[i]!), 'error.message'));
  test('a port that is not a number', () => assert.match(err(18), /^convert processor \[source_port\]/));
  test('an address that is not an IP', () => assert.match(err(19), /^convert processor \[source_ip\]/));
  test('a truncated JSON record in message', () => assert.match(err(20), /^json processor \[record_from_message\]/));
  test('a byte count with a unit', () => assert.match(err(21), /^convert processor \[source_bytes\]/));
  test('a line that is not a Packetbeat event', () => assert.match(err(22), /none of source, destination, network or type/));
});
