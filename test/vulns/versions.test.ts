import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareDebian, compareRpm, versionInRange, cpeMatchCovers, compareBacklog, type BacklogItem } from '../../src/vulns/index.ts';

test('Debian versions compare as dpkg does', () => {
  const cases: Array<[string, string, number]> = [
    ['1.0', '1.0', 0], ['1.0~rc1', '1.0', -1], ['1.0', '1.0-1', -1], ['1:1.0', '2.0', 1], ['2.4.52-1ubuntu4.6', '2.4.58', -1],
    ['1.2.3a', '1.2.3', 1], ['1.10', '1.9', 1], ['1.0-1', '1.0-1~bpo1', 1], ['0.9.8zh', '0.9.8zg', 1], ['1.0+dfsg', '1.0', 1], ['9.2p1-2+deb12u2', '9.2p1-2', 1],
  ];
  for (const [a, b, expected] of cases) assert.equal(Math.sign(compareDebian(a, b)), expected, `${a} vs ${b}`);
});

test('RPM versions compare as rpmvercmp does', () => {
  const cases: Array<[string, string, number]> = [
    ['1.0', '1.0', 0], ['1.0~rc1', '1.0', -1], ['2.4.57-5.el9', '2.4.58', -1], ['1.10', '1.9', 1], ['1.0a', '1.0', 1],
    ['1.0^git1', '1.0', 1], ['1.0^git1', '1.0.1', -1], ['1:1.0', '2.0', 1], ['1.0-2', '1.0-10', -1], ['2.02-1', '2.2-1', 0],
  ];
  for (const [a, b, expected] of cases) assert.equal(Math.sign(compareRpm(a, b)), expected, `${a} vs ${b}`);
});

test('NVD version ranges: start/end, including/excluding, an installed epoch set aside', () => {
  const range = { versionStartIncluding: '2.4.0', versionEndExcluding: '2.4.58' };
  assert.equal(versionInRange('1:2.4.52-1ubuntu4.6', range, 'deb'), true, 'the epoch orders Debian releases, not upstream ones');
  assert.equal(versionInRange('2.4.58-1', range, 'deb'), false, 'the fixed upstream version is out, whatever its Debian revision');
  assert.equal(versionInRange('1.2.3-1', { versionEndIncluding: '1.2.3' }, 'deb'), true, 'the Debian revision is packaging, not upstream');
  assert.equal(versionInRange('2.3.9-1', range, 'deb'), false);
  assert.equal(versionInRange('2.4.0-1', range, 'deb'), true, 'start including');
  assert.equal(versionInRange('2.4.0-1.el9', { versionStartExcluding: '2.4.0' }, 'rpm'), false, 'start excluding');
  assert.equal(versionInRange('3.0.2', { versionEndIncluding: '3.0.2' }, 'generic'), true, 'end including');
  assert.equal(versionInRange('3.0.3', { versionEndIncluding: '3.0.2' }, 'generic'), false);
  assert.equal(versionInRange('1.1.1', { version: '1.1.1' }, 'generic'), true, 'an exact version in the criteria');
  assert.equal(versionInRange('1.1.2', { version: '1.1.1' }, 'generic'), false);
  assert.equal(versionInRange('1.1.2', { version: '*' }, 'generic'), true);
});

test('a CPE match covers a package by alias or name, vendor when known, and range; hardware and non-vulnerable entries never', () => {
  const ssh = { host: 'h', name: 'openssh-server', version: '1:9.2p1-2+deb12u2', type: 'deb' as const };
  assert.equal(cpeMatchCovers({ criteria: 'cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*', vulnerable: true, versionStartIncluding: '8.5p1', versionEndExcluding: '9.8p1' }, ssh), true);
  assert.equal(cpeMatchCovers({ criteria: 'cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*', vulnerable: true, versionEndExcluding: '9.2p1' }, ssh), false);
  assert.equal(cpeMatchCovers({ criteria: 'cpe:2.3:a:other:openssh:*:*:*:*:*:*:*:*', vulnerable: true }, ssh), false, 'the alias names the vendor');
  assert.equal(cpeMatchCovers({ criteria: 'cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*', vulnerable: false }, ssh), false);
  const own = { host: 'h', name: 'frobnicator', version: '1.4.2', type: 'other' as const };
  assert.equal(cpeMatchCovers({ criteria: 'cpe:2.3:a:anyone:frobnicator:1.4.2:*:*:*:*:*:*:*', vulnerable: true }, own), true, 'unknown packages match by name, any vendor');
  assert.equal(cpeMatchCovers({ criteria: 'cpe:2.3:h:anyone:frobnicator:*:*:*:*:*:*:*:*', vulnerable: true }, own), false);
});

test('the backlog orders known-exploited first, then CVSS, then exposure', () => {
  const item = (cve: string, kev: boolean, cvss: number | null, ports: number[]): BacklogItem => ({ host: 'h', package: 'p', version: '1', cve, cvss, known_exploited: kev, kev_due_date: null, listening_ports: ports, fixed_in: null, description: null });
  const sorted = [item('A', false, 9.8, [443]), item('B', true, 5.0, []), item('C', false, 7.5, [22]), item('D', false, 7.5, []), item('E', true, 8.1, [])].sort(compareBacklog);
  assert.deepEqual(sorted.map((i) => i.cve), ['E', 'B', 'A', 'C', 'D']);
});
