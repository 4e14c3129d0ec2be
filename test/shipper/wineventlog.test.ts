import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseWevtutilXml, WindowsEventLogCollector, windowsEventToAgentEvent } from '../../src/shipper/collectors/wineventlog.ts';
import type { CommandRunner } from '../../src/shipper/collectors/command.ts';
import { validateEvent } from '../../src/ingest/event-contract.ts';
import { MemorySink, testContext } from './support.ts';

const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');

test('a Security 4625 becomes Event.System + Event.EventData with the failed user and source IP', async () => {
  const [failed, ok] = await parseWevtutilXml(fixture('wevtutil-security.xml'));
  assert.ok(failed && ok);
  assert.equal(failed.record.System.EventID, 4625);
  assert.equal(failed.record.System.EventRecordID, 1048577);
  assert.equal(failed.record.System.Channel, 'Security');
  assert.equal(failed.record.System.TimeCreated, '2026-01-31T12:00:01.123Z');
  assert.equal(failed.record.EventData.TargetUserName, 'administrator');
  assert.equal(failed.record.EventData.IpAddress, '203.0.113.77');
  const event = windowsEventToAgentEvent(failed, { hostname: 'agent-host', os: 'windows' });
  assert.equal(event.category, 'windows_event');
  assert.equal(event.host, 'WS01.corp.example');
  assert.equal(event.user, 'administrator');
  assert.equal(ok.record.EventData.ProcessName, 'C:\\Windows\\System32\\svchost.exe');
});

test('Sysmon process creation keeps its command line and hashes; classic events keep positional data', async () => {
  const [sysmon] = await parseWevtutilXml(fixture('wevtutil-sysmon.xml'));
  assert.equal(sysmon?.record.System.EventID, 1);
  assert.equal(sysmon?.record.System.UserID, 'S-1-5-18');
  assert.match(String(sysmon?.record.EventData.CommandLine), /-enc SQBFAFgA/);
  const [svc, crash] = await parseWevtutilXml(fixture('wevtutil-system.xml'));
  assert.equal(svc?.record.System.EventID, 7045, 'EventID with Qualifiers is still a number');
  assert.equal(svc?.record.EventData.ServiceName, 'PSEXESVC');
  assert.deepEqual(crash?.record.EventData.Data, ['11:58:12', '31/01/2026', '', '', '3140']);
  assert.equal(windowsEventToAgentEvent(crash!, { hostname: 'h', os: 'w' }).severity, 6, 'Level 2 (error)');
});

test('every recorded event passes the ingest API event contract', async () => {
  for (const f of ['wevtutil-security.xml', 'wevtutil-sysmon.xml', 'wevtutil-system.xml', 'wevtutil-application-newest.xml']) {
    for (const rec of await parseWevtutilXml(fixture(f))) {
      const v = validateEvent({ ...windowsEventToAgentEvent(rec, { hostname: 'h', ip: '192.0.2.1', os: 'w' }), seq: 1 });
      assert.ok(v.ok, `${f} ${rec.record.System.EventID}: ${v.ok ? '' : `${v.field}: ${v.reason}`}`);
    }
  }
});

test('the collector keeps one EventRecordID cursor per channel and starts a new channel at its newest record', async () => {
  const calls: string[][] = [];
  const run: CommandRunner = async (cmd, args) => {
    calls.push([cmd, ...args]);
    const channel = args[1];
    if (args.includes('/rd:true')) return { code: 0, stdout: fixture('wevtutil-application-newest.xml'), stderr: '' };
    if (channel === 'Security') return { code: 0, stdout: fixture('wevtutil-security.xml'), stderr: '' };
    if (channel === 'System') return { code: 0, stdout: fixture('wevtutil-system.xml'), stderr: '' };
    return { code: 0, stdout: '<Events></Events>', stderr: '' };
  };
  const sink = new MemorySink();
  sink.last = { channels: { Security: 1048576, System: 5521 } };
  const c = new WindowsEventLogCollector('win', { channels: ['Security', 'System', 'Application'], poll_ms: 60_000, batch: 100 }, testContext(sink), run);
  await c.start();
  await c.stop();
  await c.poll();
  assert.deepEqual(
    sink.events.map((e) => (e.raw as { Event: { System: { EventRecordID: number } } }).Event.System.EventRecordID),
    [1048577, 1048578, 5522],
    'only records after each channel cursor',
  );
  assert.deepEqual(sink.last, { channels: { Security: 1048578, System: 5522, Application: 9001 } });
  const securityQuery = calls.find((c) => c[2] === 'Security');
  assert.deepEqual(securityQuery?.slice(3), ['/q:*[System[(EventRecordID>1048576)]]', '/f:xml', '/c:100', '/e:Events']);
});

test('without wevtutil (not Windows) the collector idles quietly', async () => {
  const run: CommandRunner = async () => {
    throw Object.assign(new Error('spawn wevtutil ENOENT'), { code: 'ENOENT' });
  };
  const sink = new MemorySink();
  const c = new WindowsEventLogCollector('win', { channels: ['Security'], poll_ms: 60_000, batch: 10 }, testContext(sink), run);
  await c.poll();
  await c.poll();
  assert.equal(sink.events.length, 0);
});
