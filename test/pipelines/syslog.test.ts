// pipelines/syslog.yml run in process over test/fixtures/syslog/*.log (one raw line per event).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NOW, compileSource, fixtureLines, runOk, expectFields, expectPipelineError } from '../support/pipeline-assert.ts';


const pipeline = compileSource('syslog');
const run = (doc: Record<string, unknown>) => runOk(pipeline, doc);
const line = (message: string) => run({ message });

// Expected ECS fields per fixture line (index = 0-based line number). Absent = undefined.
const auth: Record<number, Record<string, unknown>> = {
  0: {
    '@timestamp': '2025-03-03T07:15:42.000Z', 'host.hostname': 'bastion-01', 'host.name': 'bastion-01',
    'process.name': 'sshd', 'process.pid': 24511, 'event.category': ['authentication'], 'event.type': ['start'],
    'event.action': 'ssh-login', 'event.outcome': 'success', 'user.name': 'deploy', 'source.ip': '10.20.4.17',
    'source.port': 51544, 'network.protocol': 'ssh', 'related.ip': ['10.20.4.17'], 'related.user': ['deploy'],
    'related.hosts': ['bastion-01'],
    message: 'Accepted publickey for deploy from 10.20.4.17 port 51544 ssh2: ED25519 SHA256:Q3v9mJr0w1bG4c8kF0l2hS7sW9eXyZ1aBcDeFgHiJkL',
    'log.syslog.priority': undefined,
  },
  1: { 'event.action': 'ssh-login', 'event.outcome': 'failure', 'event.type': ['info'], 'event.category': ['authentication'], 'user.name': 'root', 'source.ip': '203.0.113.45', 'source.port': 40222, 'process.pid': 24530 },
  2: { 'event.action': 'ssh-login', 'event.outcome': 'failure', 'user.name': 'oracle', 'event.reason': 'invalid user', 'source.port': 40236 },
  3: { 'event.action': 'ssh-invalid-user', 'event.outcome': 'failure', 'event.category': ['authentication'], 'user.name': 'admin', 'source.ip': '198.51.100.77', 'source.port': 58812 },
  4: { 'event.action': 'ssh-disconnect', 'event.category': ['session'], 'event.type': ['end'], 'event.outcome': 'failure', 'user.name': 'admin', 'source.ip': '198.51.100.77', 'source.port': 58812 },
  5: { 'event.action': 'ssh-disconnect', 'event.outcome': 'failure', 'user.name': 'root', 'source.ip': '203.0.113.45', 'source.port': 40222 },
  6: { 'event.action': 'authentication-failure', 'event.category': ['authentication'], 'event.type': ['info'], 'event.outcome': 'failure', 'user.name': 'root', 'source.ip': '203.0.113.45', 'process.name': 'sshd', 'process.pid': 24536, 'user.effective.name': undefined },
  7: { 'event.action': 'session-opened', 'event.category': ['session'], 'event.type': ['start'], 'event.outcome': 'success', 'user.name': 'deploy', 'user.id': '1001' },
  8: {
    'event.action': 'sudo-command', 'event.category': ['process'], 'event.type': ['start'], 'event.outcome': 'success',
    'user.name': 'deploy', 'user.effective.name': 'root', 'process.command_line': '/usr/bin/systemctl restart nginx',
    'process.working_directory': '/home/deploy', 'process.name': 'sudo', 'process.pid': undefined, 'related.user': ['deploy', 'root'],
  },
  9: { 'event.action': 'sudo-command', 'event.category': ['authentication'], 'event.outcome': 'failure', 'event.reason': '3 incorrect password attempts', 'user.name': 'intern', 'user.effective.name': 'root', 'process.command_line': '/usr/bin/cat /etc/shadow' },
  10: { 'event.action': 'sudo-command', 'event.outcome': 'failure', 'event.reason': 'user NOT in sudoers', 'user.name': 'mallory', 'process.command_line': '/bin/bash', 'process.working_directory': '/tmp' },
  11: { 'event.action': 'su', 'event.category': ['authentication'], 'event.type': ['start'], 'event.outcome': 'success', 'user.name': 'deploy', 'user.effective.name': 'root', 'process.pid': 24610 },
  12: { 'event.action': 'authentication-failure', 'event.outcome': 'failure', 'user.name': 'intern', 'user.effective.name': 'root', 'source.ip': undefined, 'process.name': 'su' },
  13: { 'event.action': 'su', 'event.outcome': 'failure', 'event.type': ['info'], 'user.name': 'intern', 'user.effective.name': 'root' },
  14: { 'event.action': 'user-created', 'event.category': ['iam'], 'event.type': ['user', 'creation'], 'event.outcome': 'success', 'user.target.name': 'svc-backup', 'user.target.id': '998', 'group.id': '998', 'related.user': ['svc-backup'], 'process.name': 'useradd' },
  15: { 'event.action': 'group-created', 'event.type': ['group', 'creation'], 'group.name': 'analysts', 'group.id': '1005' },
  16: { 'event.action': 'group-created', 'event.category': ['iam'], 'group.name': 'analysts', 'group.id': '1005' },
  17: { 'event.action': 'user-added-to-group', 'event.type': ['group', 'change'], 'user.target.name': 'deploy', 'group.name': 'docker' },
  18: { 'event.action': 'user-added-to-group', 'user.target.name': 'deploy', 'group.name': 'docker' },
  19: { 'event.action': 'user-deleted', 'event.type': ['user', 'deletion'], 'user.target.name': 'intern' },
  20: { 'event.action': 'password-changed', 'event.category': ['iam'], 'event.type': ['user', 'change'], 'user.target.name': 'svc-backup', 'process.name': 'passwd' },
  21: { '@timestamp': '2025-03-13T09:02:17.000Z', 'host.hostname': 'web-02', 'process.name': 'sshd-session', 'event.action': 'ssh-login', 'event.outcome': 'success', 'user.name': 'alice', 'source.ip': '2001:db8:85a3::8a2e:370:7334', 'source.port': 62011 },
  22: { 'event.action': 'ssh-disconnect', 'event.outcome': 'success', 'event.reason': 'disconnected by user', 'user.name': undefined, 'source.port': 62011 },
  23: { 'event.action': 'ssh-disconnect', 'event.outcome': 'success', 'user.name': 'alice', 'source.ip': '2001:db8:85a3::8a2e:370:7334' },
  24: { 'event.action': 'session-opened', 'user.name': 'root', 'user.id': '0', 'process.name': 'CRON', 'process.pid': 9101 },
  25: { 'process.name': 'kernel', 'process.pid': undefined, 'event.category': undefined, 'event.action': undefined },
  26: { 'event.action': 'ssh-disconnect', 'event.outcome': 'failure', 'source.ip': '192.0.2.200', 'source.port': 33058 },
  27: { '@timestamp': '2025-03-13T09:12:44.318Z', 'host.hostname': 'db-03', 'event.action': 'ssh-login', 'event.outcome': 'failure', 'user.name': 'postgres', 'source.ip': '192.0.2.14', 'source.port': 55210 },
  28: { 'process.name': 'systemd-logind', 'process.pid': 401, message: 'New session 42 of user alice.', 'event.category': undefined },
  29: { 'event.action': 'su', 'event.outcome': 'success', 'user.name': 'alice', 'user.effective.name': 'postgres', 'process.pid': 3390 },
};

const rfc3164: Record<number, Record<string, unknown>> = {
  0: {
    // No year in the line and "Oct 11" is after NOW (2025-03-20): the runner steps back to the previous year.
    '@timestamp': '2024-10-11T22:14:15.000Z', 'host.hostname': 'mymachine', 'process.name': 'su', 'process.pid': undefined,
    'log.syslog.priority': 34, 'log.syslog.facility.code': 4, 'log.syslog.facility.name': 'auth',
    'log.syslog.severity.code': 2, 'log.syslog.severity.name': 'crit', 'log.level': 'crit', 'event.severity': 2,
    message: "'su root' failed for lonvick on /dev/pts/8", 'event.category': undefined,
  },
  1: { 'log.syslog.priority': 38, 'log.syslog.facility.name': 'auth', 'log.syslog.severity.name': 'info', 'host.hostname': 'fw-edge', 'event.outcome': 'failure', 'user.name': 'admin', 'source.ip': '198.51.100.9', 'source.port': 61022 },
  2: { 'log.syslog.facility.code': 10, 'log.syslog.facility.name': 'authpriv', 'log.syslog.severity.code': 6, 'event.action': 'sudo-command', 'event.outcome': 'success', 'user.name': 'backup', 'user.effective.name': 'root', 'process.command_line': '/usr/bin/rsync -a /srv/ /mnt/backup/', 'process.working_directory': '/' },
  3: { 'log.syslog.facility.name': 'user', 'log.syslog.severity.name': 'notice', 'host.hostname': 'printer-3f', message: '-- MARK --', 'process.name': undefined },
  4: { 'log.syslog.facility.code': 23, 'log.syslog.facility.name': 'local7', 'log.syslog.severity.code': 6, 'host.hostname': '10.0.0.1', 'process.name': '%ASA-6-302013' },
  5: { 'log.syslog.priority': 0, 'log.syslog.facility.name': 'kern', 'log.syslog.severity.name': 'emerg', 'event.severity': 0, 'process.name': 'kernel', message: 'Kernel panic - not syncing: Fatal exception' },
  6: { 'log.syslog.facility.name': 'daemon', 'log.syslog.severity.name': 'notice', 'process.name': 'hostapd', 'host.hostname': 'ap-lobby', '@timestamp': '2025-03-14T06:25:01.000Z' },
};

const rfc5424: Record<number, Record<string, unknown>> = {
  0: {
    '@timestamp': '2003-10-11T22:14:15.003Z', 'host.hostname': 'mymachine.example.com', 'process.name': 'su', 'process.pid': undefined,
    'log.syslog.msgid': 'ID47', 'log.syslog.version': '1', 'log.syslog.priority': 34, 'log.syslog.facility.name': 'auth',
    message: "'su root' failed for lonvick on /dev/pts/8", 'log.syslog.structured_data': undefined,
  },
  1: { '@timestamp': '2003-08-24T12:14:15.000Z', 'host.hostname': '192.0.2.1', 'process.name': 'myproc', 'process.pid': 8710, 'log.syslog.facility.name': 'local4', 'log.syslog.severity.name': 'notice', message: "%% It's time to make the do-nuts." },
  2: {
    'log.syslog.appname': 'evntslog', 'log.syslog.structured_data': { 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' } },
    message: 'An application event log entry...',
  },
  3: { 'log.syslog.structured_data': { 'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' }, 'examplePriority@32473': { class: 'high' } } },
  4: { '@timestamp': '2025-03-13T08:16:03.512Z', 'host.hostname': 'bastion-02', 'process.pid': 30211, 'event.action': 'ssh-login', 'event.outcome': 'failure', 'user.name': 'test', 'event.reason': 'invalid user', 'source.ip': '192.0.2.77', 'source.port': 50122 },
  5: {
    'event.action': 'sudo-command', 'event.outcome': 'success', 'user.name': 'alice', 'user.effective.name': 'root', 'process.command_line': '/usr/bin/journalctl -u ssh',
    'log.syslog.structured_data': { timeQuality: { tzKnown: '1', isSynced: '1', syncAccuracy: '218500' } }, 'log.syslog.facility.name': 'authpriv',
  },
  6: { '@timestamp': '2025-03-13T07:20:01.000Z', 'event.action': 'user-created', 'user.target.name': 'jenkins', 'user.target.id': '1010', 'host.hostname': 'app-7', 'log.syslog.severity.name': 'notice' },
  7: { 'log.syslog.priority': 14, 'log.syslog.facility.name': 'user', 'log.syslog.severity.name': 'info', 'host.hostname': undefined, 'process.name': undefined, '@timestamp': NOW.toISOString() },
  8: { 'log.syslog.procid': '12ab', 'process.pid': undefined, 'process.name': 'app', 'log.syslog.msgid': 'MSG01', 'host.hostname': 'host-9.corp.example', message: 'procid is not a number here' },
  9: { 'process.name': 'sshd-session', 'process.pid': 7781, 'event.outcome': 'success', 'user.name': 'ops', 'source.ip': 'fe80::1c2b:3cff:fe4d:5e6f', 'source.port': 40110 },
};

for (const [file, expected] of [['auth.log', auth], ['rfc3164.log', rfc3164], ['rfc5424.log', rfc5424]] as const) {
  describe(`syslog ${file}`, () => {
    const lines = fixtureLines('syslog', file);
    test('every line has an expectation', () => assert.equal(Object.keys(expected).length, lines.length));
    lines.forEach((raw, i) => {
      test(`line ${i + 1}: ${raw.slice(0, 70)}`, () => {
        const doc = line(raw);
        expectFields(doc, {
          'event.original': raw, 'event.kind': 'event', 'error.message': undefined, 'ecs.version': '8.17.0',
          'event.dataset': 'syslog', ...(expected[i] ?? {}),
        });
        assert.ok(doc['@timestamp'], '@timestamp is set');
        assert.equal('_tmp' in doc, false, 'no temporary fields left');
      });
    });
  });
}

describe('syslog malformed.log', () => {
  fixtureLines('syslog', 'malformed.log').forEach((raw, i) => {
    test(`line ${i + 1} is kept with error.message: ${raw.slice(0, 40)}`, () => expectPipelineError(line(raw), raw));
  });
  test('the error names the failing processor', () => {
    const doc = line('this is not syslog at all');
    assert.match(String(doc['error.message'] ?? (doc.error as { message: string }).message), /grok processor \[syslog_header\]/);
  });
  test('an impossible date names the date processor', () => {
    const doc = line('Feb 30 23:59:59 bastion-01 sshd[77]: Accepted password for eve from 192.0.2.66 port 40000 ssh2');
    assert.match((doc.error as { message: string }).message, /^date processor \[syslog_timestamp_site_tz\]/);
  });
  test('a document without message is kept with a clear error', () => {
    const doc = run({ log: { file: { path: '/var/log/auth.log' } } });
    expectFields(doc, { 'event.kind': 'pipeline_error', 'error.type': 'fail' });
    assert.match((doc.error as { message: string }).message, /field \[message\] is missing or not a string/);
  });
});

describe('syslog options and document shapes', () => {
  const raw = 'Mar  3 07:15:42 bastion-01 sshd[24511]: Failed password for root from 203.0.113.45 port 40222 ssh2';
  test('site timezone (runner option; installer-added for a full cluster) applies to RFC 3164 times', () => {
    const berlin = compileSource('syslog', { timezone: 'Europe/Berlin' });
    expectFields(runOk(berlin, { message: raw }), { '@timestamp': '2025-03-03T06:15:42.000Z' });
  });
  test("the document's own event.timezone wins", () => {
    expectFields(line2({ message: raw, event: { timezone: 'America/New_York' } }), { '@timestamp': '2025-03-03T12:15:42.000Z', 'event.timezone': 'America/New_York' });
  });
  test('an offset in the timestamp wins over every zone', () => {
    const doc = line2({ message: '2025-03-13T10:12:44+05:30 db-03 sshd[1]: Connection closed by 192.0.2.1 port 2 [preauth]', event: { timezone: 'America/New_York' } });
    expectFields(doc, { '@timestamp': '2025-03-13T04:42:44.000Z' });
  });
  test("a shipper's @timestamp becomes event.created", () => {
    expectFields(line2({ message: raw, '@timestamp': '2025-03-03T07:15:43.100Z' }), { '@timestamp': '2025-03-03T07:15:42.000Z', 'event.created': '2025-03-03T07:15:43.100Z' });
  });
  test('a header parsed upstream (Filebeat syslog input) still gets the auth fields', () => {
    const doc = line2({ message: 'Failed password for root from 203.0.113.5 port 4444 ssh2', log: { syslog: { appname: 'sshd', procid: '991', hostname: 'edge-1', priority: 38 } } });
    expectFields(doc, {
      'process.name': 'sshd', 'process.pid': 991, 'host.hostname': 'edge-1', 'log.syslog.facility.name': 'auth', 'log.syslog.severity.code': 6,
      'event.outcome': 'failure', 'user.name': 'root', 'source.ip': '203.0.113.5', 'source.port': 4444,
      'event.original': 'Failed password for root from 203.0.113.5 port 4444 ssh2',
    });
  });
  test("Logstash's string `host` (the sender) moves to log.source.address", () => {
    expectFields(line2({ message: raw, host: '192.0.2.50' }), { 'log.source.address': '192.0.2.50', 'host.hostname': 'bastion-01', 'host.name': 'bastion-01' });
  });
  test('an existing event.original is not overwritten', () => {
    expectFields(line2({ message: raw, event: { original: '<38>' + raw } }), { 'event.original': '<38>' + raw, message: raw.slice(raw.indexOf('Failed')) });
  });
  function line2(doc: Record<string, unknown>) {
    return run(doc);
  }
});
