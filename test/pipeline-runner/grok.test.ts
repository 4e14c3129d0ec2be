import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWith } from './helpers.ts';

const grok = (patterns: string[], message: unknown, extra: Record<string, unknown> = {}) => runWith([{ grok: { field: 'message', patterns, ...extra } }], { message });

describe('grok', () => {
  it('parses a combined Apache log into ECS fields with typed captures', () => {
    const line = '203.0.113.9 - alice [10/Oct/2000:13:55:36 -0700] "GET /a.gif?x=1 HTTP/1.1" 200 2326 "http://ref.example/" "Mozilla/5.0"';
    const doc = grok(['^%{COMBINEDAPACHELOG}$'], line).doc;
    assert.deepEqual(doc, {
      message: line,
      source: { address: '203.0.113.9' },
      user: { name: 'alice' },
      timestamp: '10/Oct/2000:13:55:36 -0700',
      http: { request: { method: 'GET', referrer: 'http://ref.example/' }, version: '1.1', response: { status_code: 200, body: { bytes: 2326 } } },
      url: { original: '/a.gif?x=1' },
      user_agent: { original: 'Mozilla/5.0' },
    });
  });

  it('first matching pattern wins; trace_match records which', () => {
    const result = runWith([{ grok: { field: 'message', patterns: ['^%{INT:n:int}$', '^%{WORD:w}$'], trace_match: true } }, { set: { field: 'idx', value: '{{_ingest._grok_match_index}}' } }], { message: 'abc' });
    assert.deepEqual(result.doc, { message: 'abc', w: 'abc', idx: '1' });
  });

  it('syslog header, IPs, custom definitions and Oniguruma named groups', () => {
    const doc = grok(['^%{SYSLOGTIMESTAMP:ts} %{SYSLOGHOST:host.name} %{SYSLOGPROG}: from %{IP:source.ip} port %{POSINT:source.port:int} %{MYKEY:k} (?<event.code>\\d+)$'], 'Feb  3 04:05:06 fw01 sshd[42]: from 2001:db8::1 port 2222 K-9 4625', {
      pattern_definitions: { MYKEY: 'K-\\d' },
    }).doc;
    assert.deepEqual(doc, {
      message: 'Feb  3 04:05:06 fw01 sshd[42]: from 2001:db8::1 port 2222 K-9 4625',
      ts: 'Feb  3 04:05:06',
      host: { name: 'fw01' },
      process: { name: 'sshd', pid: 42 },
      source: { ip: '2001:db8::1', port: 2222 },
      k: 'K-9',
      event: { code: '4625' },
    });
  });

  it('matches the standard bank entries on typical values', () => {
    const cases: Array<[string, string]> = [
      ['IPV4', '192.168.0.1'],
      ['IPV6', '::ffff:10.0.0.1'],
      ['IPV6', 'fe80::1%eth0'],
      ['UUID', '123e4567-e89b-12d3-a456-426614174000'],
      ['MAC', '00:1A:2b:3C:4d:5E'],
      ['EMAILADDRESS', 'a.b+c@mail.example.org'],
      ['TIMESTAMP_ISO8601', '2024-05-06T07:08:09.123+02:00'],
      ['HTTPDATE', '10/Oct/2000:13:55:36 -0700'],
      ['URI', 'https://user@host.example:8080/p/a.html?q=1'],
      ['UNIXPATH', '/var/log/auth.log'],
      ['WINPATH', 'C:\\Windows\\System32'],
      ['LOGLEVEL', 'WARNING'],
      ['QUOTEDSTRING', '"say \\"hi\\""'],
      ['HOSTPORT', 'db.internal:5432'],
      ['NUMBER', '-12.5'],
      ['DATE_EU', '31.12.2024'],
    ];
    for (const [name, value] of cases) {
      assert.equal(grok([`^%{${name}:v}$`], value).doc.v, value, `${name} should match ${value}`);
    }
    assert.ok(grok(['^%{IPV4:v}$'], '256.1.1.1').error, 'IPV4 rejects 256.1.1.1');
  });

  it('failures and ignore_missing', () => {
    assert.match(grok(['^%{INT:n}$'], 'abc').error!.message, /Provided Grok expressions do not match field value: \[abc\]/);
    assert.equal(runWith([{ grok: { field: 'message', patterns: ['%{WORD:w}'], ignore_missing: true } }], {}).error, undefined);
    assert.match(runWith([{ grok: { field: 'message', patterns: ['%{WORD:w}'] } }], {}).error!.message, /not present/);
  });

  it('stays fast on a long non-matching line (no catastrophic backtracking in the bank)', () => {
    // Completes at all only if the bank's patterns are linear; nothing is timed.
    const long = 'a'.repeat(20000) + '!';
    assert.ok(grok(['^%{WORD:w} %{URIPATHPARAM:p}$'], long).error);
    assert.ok(grok(['^%{HOSTNAME:h}$'], 'a.'.repeat(5000) + '_').error);
  });
});
