// The winlogbeat pipeline (pipelines/winlogbeat.yml) run in process over every fixture in test/fixtures/winlogbeat.
// Expectations are per fixture line; the fixtures stay plain files so the data-stream round trip can reuse them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { compilePipeline, createGeoIpLookup } from '../../src/pipeline-runner/index.ts';
import { fieldAt as get, runHandled, expectFieldsAt as expectFields } from '../support/pipeline-assert.ts';

const dir = new URL('../fixtures/winlogbeat/', import.meta.url);
const lines = (name: string) => readFileSync(new URL(name, dir), 'utf8').split('\n').filter((l) => l.trim() !== '');
const readAsset = (source: string) => YAML.parse(readFileSync(new URL(`../../pipelines/${source}.yml`, import.meta.url), 'utf8'));
const asset = readAsset('winlogbeat');
const pipeline = compilePipeline(asset.pipeline, { timezone: 'UTC', geoip: createGeoIpLookup(), resolvePipeline: () => undefined });

const run = (doc: Record<string, unknown>) => runHandled(pipeline, doc);

const PS = 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe';
const JDOE = { 'user.name': 'jdoe', 'user.domain': 'CORP' };
// One entry per line of winlogbeat.ndjson.
const expected: Record<string, unknown>[] = [
  { ...JDOE, 'event.code': '1', 'event.module': 'sysmon', 'event.category': ['process'], 'event.type': ['start'], 'event.action': 'Process Create (rule: ProcessCreate)', 'process.pid': 6120, 'process.entity_id': '{4b1f6a2c-5d30-6633-a103-000000001f00}', 'process.executable': PS, 'process.name': 'powershell.exe', 'process.command_line': 'powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=', 'process.working_directory': 'C:\\Users\\jdoe\\Documents\\', 'process.parent.pid': 5480, 'process.parent.name': 'WINWORD.EXE', 'process.parent.executable': 'C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE', 'process.hash.sha256': 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c', 'process.hash.md5': '7353f60b1739074eb17c5f4dddefe239', 'process.hash.sha1': '3f0e5a1b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f', 'process.pe.imphash': '741776aaccfc5b71ff59832dcdcace0f', 'process.pe.original_file_name': 'PowerShell.EXE', 'process.pe.company': 'Microsoft Corporation', 'rule.name': 'technique_id=T1059.001,technique_name=PowerShell', 'host.name': 'ws-fin-07' },
  { ...JDOE, 'event.code': '3', 'event.category': ['network'], 'event.type': ['connection', 'start', 'protocol'], 'source.ip': '10.30.4.7', 'source.port': 49752, 'source.domain': 'WS-FIN-07.corp.example.com', 'destination.ip': '198.51.100.23', 'destination.port': 443, 'destination.domain': undefined, 'network.transport': 'tcp', 'network.protocol': 'https', 'network.direction': 'egress', 'network.type': 'ipv4', 'network.community_id': '1:eO0brAwMavUJ6hbkIB++bpj+COw=', 'rule.name': undefined, 'related.ip': ['10.30.4.7', '198.51.100.23'] },
  { 'event.code': '7', 'event.category': ['process'], 'event.type': ['change'], 'file.path': 'C:\\Users\\jdoe\\AppData\\Local\\Temp\\vcruntime140.DLL', 'file.name': 'vcruntime140.DLL', 'file.extension': 'dll', 'file.directory': 'C:\\Users\\jdoe\\AppData\\Local\\Temp', 'file.hash.sha256': '4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899', 'file.code_signature.signed': false, 'file.code_signature.status': 'Unavailable', 'file.code_signature.subject_name': undefined, 'file.pe.company': undefined, 'dll.name': 'vcruntime140.DLL', 'dll.hash.md5': '0d5df2e3c4b5a69788796a5b4c3d2e1f', 'process.name': 'powershell.exe', 'process.hash': undefined },
  { ...JDOE, 'event.code': '8', 'event.category': ['process'], 'event.type': ['change'], 'event.action': 'CreateRemoteThread detected (rule: CreateRemoteThread)', 'process.pid': 8120, 'process.executable': 'C:\\Users\\Public\\inj.exe', 'process.name': 'inj.exe', 'process.entity_id': '{4b1f6a2c-7200-6633-c103-000000001f00}', 'winlog.event_data.TargetImage': 'C:\\Windows\\explorer.exe' },
  { ...JDOE, 'event.code': '10', 'event.type': ['access'], 'process.pid': 8888, 'process.thread.id': 8892, 'process.name': 'procdump64.exe', 'process.entity_id': '{4b1f6a2c-7300-6633-d103-000000001f00}', 'winlog.event_data.GrantedAccess': '0x1fffff', 'winlog.event_data.TargetImage': 'C:\\Windows\\system32\\lsass.exe' },
  { ...JDOE, 'event.code': '11', 'event.category': ['file'], 'event.type': ['creation'], 'file.path': 'C:\\Users\\jdoe\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\OneDriveSync.LNK', 'file.name': 'OneDriveSync.LNK', 'file.extension': 'lnk', 'file.directory': 'C:\\Users\\jdoe\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup', 'dll': undefined },
  { 'event.code': '12', 'event.category': ['configuration', 'registry'], 'event.type': ['creation'], 'registry.hive': 'HKU', 'registry.key': 'S-1-5-21-3623811015-3361044348-30300820-1107\\Software\\Classes\\ms-settings\\shell\\open\\command', 'registry.value': undefined, 'registry.path': 'HKU\\S-1-5-21-3623811015-3361044348-30300820-1107\\Software\\Classes\\ms-settings\\shell\\open\\command' },
  { 'event.code': '13', 'event.type': ['change'], 'event.action': 'Registry value set (rule: RegistryEvent)', 'registry.hive': 'HKLM', 'registry.key': 'SOFTWARE\\Policies\\Microsoft\\Windows Defender', 'registry.value': 'DisableAntiSpyware', 'registry.data.type': 'SZ_DWORD', 'registry.data.strings': ['1'] },
  { 'event.code': '14', 'event.type': ['change'], 'registry.hive': 'HKLM', 'registry.key': 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater', 'process.name': 'regedit.exe', 'winlog.event_data.NewName': 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDriveUpdate' },
  { 'event.code': '4624', 'event.module': 'security', 'event.category': ['authentication'], 'event.type': ['start'], 'event.action': 'logged-in', 'event.outcome': 'success', 'user.name': 'svc_backup', 'user.domain': 'CORP', 'user.id': 'S-1-5-21-3623811015-3361044348-30300820-1104', 'source.ip': '10.30.4.7', 'source.port': 51234, 'source.domain': 'WS-FIN-07', 'winlog.logon.type': 'Network', 'winlog.logon.id': '0x3e7a1f', 'process.pid': undefined, 'process.executable': undefined, 'host.name': 'dc01' },
  { 'event.code': '4625', 'event.action': 'logon-failed', 'event.outcome': 'failure', 'event.category': ['authentication'], 'user.name': 'Administrator', 'user.domain': 'CORP', 'source.ip': '203.0.113.77', 'source.port': undefined, 'source.domain': 'kali', 'winlog.logon.type': 'Network', 'winlog.logon.failure.status': '0xc000006d', 'winlog.logon.failure.sub_status': '0xc000006a', 'winlog.logon.failure.reason': 'Unknown user name or bad password.' },
  { ...JDOE, 'event.code': '4688', 'event.category': ['process'], 'event.type': ['start'], 'event.action': 'created-process', 'event.outcome': 'success', 'user.id': 'S-1-5-21-3623811015-3361044348-30300820-1107', 'process.pid': 6700, 'process.executable': 'C:\\Windows\\System32\\whoami.exe', 'process.name': 'whoami.exe', 'process.command_line': 'whoami /priv', 'process.parent.pid': 6120, 'process.parent.executable': 'C:\\Windows\\System32\\cmd.exe', 'process.parent.name': 'cmd.exe' },
  { 'event.code': '4720', 'event.category': ['iam'], 'event.type': ['user', 'creation'], 'event.action': 'added-user-account', 'user.name': 'Administrator', 'user.target.name': 'helpdesk2', 'user.target.domain': 'CORP', 'user.target.id': 'S-1-5-21-3623811015-3361044348-30300820-1130', 'related.user': ['Administrator', 'helpdesk2'] },
  { 'event.code': '4732', 'event.category': ['iam'], 'event.type': ['group', 'change'], 'event.action': 'added-member-to-group', 'user.name': 'Administrator', 'group.name': 'Administrators', 'group.domain': 'Builtin', 'group.id': 'S-1-5-32-544', 'user.target.id': 'S-1-5-21-3623811015-3361044348-30300820-1130', 'user.target.name': 'Helpdesk Two' },
  { 'event.code': '4624', 'winlog.event_id': '4624', 'event.action': 'logged-in', 'event.category': ['authentication'], 'user.name': 'svc_backup', 'source.ip': '10.30.4.7', 'winlog.logon.type': 'Network', '@timestamp': '2024-05-02T13:00:00.000Z' },
  { 'event.code': '1102', 'event.module': 'security', 'event.category': ['iam'], 'event.type': ['admin', 'change'], 'event.action': 'audit-log-cleared', 'event.outcome': 'success', 'user.name': 'Administrator', 'user.domain': 'CORP', 'user.id': 'S-1-5-21-3623811015-3361044348-30300820-500' },
  { 'event.code': '7036', 'event.module': undefined, 'event.category': undefined, 'event.action': undefined, 'winlog.event_data.param1': 'Windows Update', 'message': 'The Windows Update service entered the stopped state.' },
];

test('winlogbeat fixtures: Sysmon and Security documents completed to ECS', () => {
  const records = lines('winlogbeat.ndjson');
  assert.equal(records.length, expected.length);
  records.forEach((line, i) => {
    const input = JSON.parse(line);
    const doc = run(input);
    expectFields(doc, { 'event.kind': 'event', 'event.dataset': 'winlogbeat', error: undefined, _tmp: undefined, 'winlog.event_data': input.winlog.event_data, ...expected[i] }, `line ${i + 1}`);
  });
});

test('winlogbeat fixtures: a Winlogbeat JSON line read by Filebeat keeps the line in event.original', () => {
  const [line] = lines('filebeat-line.ndjson');
  const input = JSON.parse(line!);
  const doc = run(input);
  expectFields(doc, { 'event.original': input.message, message: 'A new process has been created.', 'event.action': 'created-process', 'process.pid': 6700, 'process.parent.name': 'cmd.exe', 'user.name': 'jdoe', 'log.file.path': 'C:\\ProgramData\\winlogbeat\\out\\winlogbeat-20240502.ndjson' }, 'filebeat line');
});

test('winlogbeat malformed fixtures are kept with error.message, never dropped', () => {
  const cases: { error: RegExp; fields: Record<string, unknown> }[] = [
    { error: /^fail processor \[require-winlog\] failed: not a Winlogbeat document/, fields: { 'event.original': undefined, message: 'An account was successfully logged on.', 'event.code': '4624' } },
    { error: /^json processor \[parse-message-json\] failed/, fields: {} },
    { error: /^convert processor \[win-destination-port-long\] failed: unable to convert \[https\]/, fields: { 'destination.port': undefined, 'source.port': undefined, 'winlog.event_data.DestinationPort': 'https', 'winlog.event_data.SourcePort': '49752' } },
    { error: /^convert processor \[win-process-pid-long\] failed: unable to convert \[0xZZ12\]/, fields: { 'process.pid': undefined, 'winlog.event_data.NewProcessId': '0xZZ12' } },
    { error: /^convert processor \[win-source-ip\] failed: .*10\.30\.4\.999/, fields: { 'source.ip': undefined, 'winlog.event_data.IpAddress': '10.30.4.999' } },
    { error: /^fail processor \[require-winlog\] failed/, fields: { winlog: 'Security 4624' } },
  ];
  const records = lines('malformed.ndjson');
  cases.forEach((c, i) => {
    const input = JSON.parse(records[i]!);
    const doc = run(input);
    assert.equal(get(doc, 'event.kind'), 'pipeline_error', `line ${i + 1}`);
    assert.match(String(get(doc, 'error.message')), c.error, `line ${i + 1}`);
    assert.ok(typeof get(doc, '@timestamp') === 'string', `line ${i + 1}: @timestamp`);
    if (typeof input.message === 'string' && input.message.startsWith('{')) assert.equal(get(doc, 'event.original'), input.message);
    expectFields(doc, { _tmp: undefined, ...c.fields }, `line ${i + 1}`);
  });
  // A Sysmon 1 with no event_data at all is valid, just thin: nothing invented.
  const thin = run(JSON.parse(records[6]!));
  expectFields(thin, { 'event.kind': 'event', 'event.code': '1', 'event.category': ['process'], 'process.pid': undefined, 'host.name': 'ws-fin-07', error: undefined }, 'thin');
});

test('the shared Windows block is identical in endpoint.yml and winlogbeat.yml', () => {
  const block = (source: string) => (readAsset(source).pipeline.processors as Record<string, { tag?: string }>[]).filter((p) => String(Object.values(p)[0]?.tag ?? '').startsWith('win-'));
  const fromWinlogbeat = block('winlogbeat');
  assert.ok(fromWinlogbeat.length > 150);
  assert.deepEqual(block('endpoint'), fromWinlogbeat);
  const text = (source: string) => {
    const raw = readFileSync(new URL(`../../pipelines/${source}.yml`, import.meta.url), 'utf8');
    return raw.slice(raw.indexOf('# ==== BEGIN shared Windows block'), raw.indexOf('# ==== END shared Windows block'));
  };
  assert.equal(text('endpoint'), text('winlogbeat'));
});

test('winlogbeat asset: version 2, on_failure marks and keeps the document', () => {
  assert.equal(asset.source, 'winlogbeat');
  assert.equal(asset.version, 2);
  const onFailure = JSON.stringify(asset.pipeline.on_failure);
  assert.match(onFailure, /pipeline_error/);
  assert.match(onFailure, /_ingest\.on_failure_processor_type/);
  assert.match(onFailure, /_ingest\.on_failure_processor_tag/);
  assert.doesNotMatch(JSON.stringify(asset.pipeline), /"drop"|"script"/);
});
