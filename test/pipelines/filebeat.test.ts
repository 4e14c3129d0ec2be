// pipelines/filebeat.yml run in process over test/fixtures/filebeat/filebeat.ndjson (one Filebeat event per line).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSource, fixtureLines, runOk, get, expectFields, expectPipelineError } from '../support/pipeline-assert.ts';


const pipeline = compileSource('filebeat');
const records = fixtureLines('filebeat', 'filebeat.ndjson').map((l) => JSON.parse(l) as Record<string, unknown>);
const FIRST_MALFORMED = 20;

const expected: Record<number, Record<string, unknown>> = {
  0: {
    '@timestamp': '2025-03-13T10:22:01.000Z', 'event.created': '2025-03-13T10:22:05.117Z',
    'source.address': '203.0.113.7', 'source.ip': '203.0.113.7', 'source.geo': undefined, 'user.name': undefined,
    'http.request.method': 'GET', 'url.original': '/index.html', 'url.path': '/index.html', 'url.extension': 'html', 'url.query': undefined,
    'http.version': '1.1', 'http.response.status_code': 200, 'http.response.body.bytes': 5120,
    'http.request.referrer': 'https://www.example.com/', 'user_agent.name': 'Chrome',
    'user_agent.original': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36',
    'event.category': ['web'], 'event.type': ['access'], 'event.outcome': 'success', 'related.ip': ['203.0.113.7'], 'host.name': 'web-01',
  },
  1: { 'source.ip': '175.16.199.1', 'source.geo.country_iso_code': 'CN', 'http.request.method': 'POST', 'url.path': '/wp-login.php', 'url.extension': 'php', 'http.response.status_code': 404, 'event.outcome': 'failure', 'http.request.referrer': undefined, 'user_agent.original': 'python-requests/2.31.0' },
  2: { '@timestamp': '2025-03-13T10:22:03.000Z', 'source.ip': '2a02:cf40::1', 'source.geo.country_iso_code': 'DK', 'url.path': '/api/v1/orders', 'url.query': 'id=42&expand=items', 'http.version': '2.0', 'http.response.body.bytes': 1893 },
  3: { 'user.name': 'jdoe', 'related.user': ['jdoe'], 'source.ip': '10.1.2.3', 'source.geo': undefined, 'http.response.status_code': 401, 'event.outcome': 'failure', 'url.path': '/admin/', 'url.extension': undefined, 'user_agent.name': 'Firefox', 'host.name': 'intranet-1' },
  4: { '@timestamp': '2025-03-13T10:22:05.000Z', 'source.ip': '81.2.69.142', 'source.geo.country_iso_code': 'GB', 'url.extension': 'js', 'http.response.status_code': 304, 'event.outcome': 'success', 'http.response.body.bytes': 0, 'http.request.referrer': 'https://shop.example.org/cart' },
  5: { 'source.ip': '127.0.0.1', 'url.path': '/server-status', 'url.query': 'auto', 'http.response.body.bytes': 812, 'http.request.referrer': undefined, 'user_agent.original': undefined },
  6: { 'url.domain': 'shop.example.org', 'url.port': 443, 'source.ip': '89.160.20.128', 'source.geo.country_iso_code': 'SE', 'http.response.status_code': 500, 'event.outcome': 'failure', 'related.hosts': ['shop.example.org'] },
  7: { 'source.ip': '198.51.100.5', 'http.request.method': undefined, 'url.original': undefined, 'http.response.status_code': 400, 'event.category': ['web'], 'event.outcome': 'failure', 'event.reason': 'malformed HTTP request line' },
  8: { 'url.original': 'http://203.0.113.250:8080/proxy/check?x=1', 'url.scheme': 'http', 'url.domain': '203.0.113.250', 'url.port': 8080, 'url.path': '/proxy/check', 'url.query': 'x=1', 'http.response.status_code': 403 },
  9: { 'source.address': 'crawler-66-249-66-1.googlebot.com', 'source.domain': 'crawler-66-249-66-1.googlebot.com', 'source.ip': undefined, 'url.extension': 'txt' },
  10: { 'http.request.method': 'HEAD', 'url.path': '/', 'http.version': '1.0', 'http.response.body.bytes': undefined, 'user_agent.original': 'Wget/1.21.4' },
  11: {
    '@timestamp': '2025-03-13T10:22:12.000Z', 'log.level': 'error', 'process.pid': 812, 'process.thread.id': 812, 'source.ip': '203.0.113.7',
    'http.request.method': 'GET', 'url.original': '/favicon.ico', 'url.extension': 'ico', 'event.category': ['web'], 'event.type': ['error'],
    message: 'open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 203.0.113.7, server: www.example.com, request: "GET /favicon.ico HTTP/1.1", host: "www.example.com"',
  },
  12: { 'log.level': 'warn', 'source.ip': '2001:db8::77', 'url.original': '/export.csv', 'url.extension': 'csv' },
  13: { 'log.level': 'notice', 'process.pid': 1, message: 'signal process started', 'source.ip': undefined },
  14: { '@timestamp': '2025-03-13T10:22:15.123Z', 'log.level': 'error', 'log.logger': 'core', 'process.pid': 2231, 'process.thread.id': 140213, 'source.ip': '216.160.83.56', 'source.port': 51022, 'source.geo.country_iso_code': 'US', message: 'AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1' },
  15: { '@timestamp': '2025-03-13T10:22:16.000Z', 'log.level': 'notice', 'log.logger': 'mpm_event', 'process.pid': 1021, 'source.ip': undefined },
  16: { '@timestamp': '2025-03-13T10:22:17.512Z', 'log.level': 'error', 'log.logger': 'payment-worker-3', message: 'Timeout talking to db-03:5432 after 30000 ms', 'host.name': 'pay-01', 'event.category': undefined },
  17: { '@timestamp': '2025-03-13T10:22:18.004Z', 'log.level': 'warn', message: 'Disk usage at 91% on /var' },
  18: { '@timestamp': '2025-03-13T09:22:19.250Z', 'log.level': 'info', 'log.logger': 'main', message: 'c.e.p.PaymentApplication - Started PaymentApplication in 4.2 seconds' },
  19: { '@timestamp': '2025-03-13T10:22:20.000Z', 'log.level': 'debug', message: 'cache warmup finished: 1200 keys' },
};

describe('filebeat fixtures', () => {
  test('fixture count', () => assert.equal(records.length, 25));
  records.forEach((record, i) => {
    const label = `record ${i + 1}: ${String(record.message).slice(0, 60)}`;
    if (i >= FIRST_MALFORMED) {
      test(`${label} is kept with error.message`, () => {
        const doc = runOk(pipeline, record);
        expectPipelineError(doc, typeof record.message === 'string' ? record.message : undefined);
        expectFields(doc, { 'host.name': 'web-01', 'log.file.path': '/var/log/nginx/access.log' });
      });
      return;
    }
    test(label, () => {
      const doc = runOk(pipeline, record);
      expectFields(doc, { 'event.original': record.message, 'event.kind': 'event', 'error.message': undefined, 'event.dataset': 'filebeat', 'agent.type': 'filebeat', ...(expected[i] ?? {}) });
      assert.equal('_tmp' in doc, false);
    });
  });
});

describe('filebeat failures name the processor', () => {
  const run = (i: number) => runOk(pipeline, records[i]!);
  test('truncated access line: grok', () => assert.match(String(get(run(20), 'error.message')), /^grok processor \[line_format\]/));
  test('impossible date: date', () => assert.match(String(get(run(22), 'error.message')), /^date processor \[filebeat_timestamp_site_tz\]/));
  test('message that is a number: fail', () => assert.match(String(get(run(23), 'error.message')), /field \[message\] is missing or not a string/));
  test('a plain string `host` becomes host.name', () => {
    expectFields(runOk(pipeline, { message: records[0]!.message, host: 'edge-proxy-7' }), { 'host.name': 'edge-proxy-7', 'source.ip': '203.0.113.7' });
  });
});
