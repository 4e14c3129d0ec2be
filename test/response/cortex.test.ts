import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { responseSchema } from '../../src/response/config.ts';
import { createCortexDriver, type AnalysisResult } from '../../src/response/drivers/cortex.ts';
import type { DriverContext } from '../../src/response/driver.ts';
import { getLogger } from '../../src/log/logger.ts';
import { CortexStub } from '../stubs/cortex/server.ts';

const stub = new CortexStub({
  AbuseIPDB_1_0: { dataTypes: ['ip'], states: ['Waiting', 'InProgress', 'Success'], taxonomies: [{ level: 'malicious', namespace: 'AbuseIPDB', predicate: 'Records', value: 12 }] },
  VirusTotal_GetReport_3_1: { dataTypes: ['hash', 'ip', 'domain'], states: ['InProgress', 'Failure'], errorMessage: 'quota exceeded' },
  Stuck_1_0: { dataTypes: ['domain'], states: ['Waiting'] },
});
const ctx = { client: undefined, log: getLogger('test') } as unknown as DriverContext;
let url = '';
before(async () => {
  url = await stub.start();
});
after(() => stub.stop());

function driver(analyzers: Record<string, string[]>, maxWaitMs = 5_000) {
  const config = responseSchema.parse({ cortex: { url, analyzers, poll_interval_ms: 5, max_wait_ms: maxWaitMs } });
  return createCortexDriver(config.cortex!, 'cortex-test-key');
}

test('runs the analyzers configured per data type, follows Waiting → InProgress → Success, keeps the taxonomies', async () => {
  const d = driver({ ip: ['AbuseIPDB_1_0'], hash: ['VirusTotal_GetReport_3_1'] });
  const outcome = await d.apply(ctx, d.parse({ alert: { source: { ip: '203.0.113.7' }, file: { hash: { md5: 'd41d8cd98f00b204e9800998ecf8427e' } } }, alert_id: 'a1' }));
  assert.equal(outcome.ok, true, outcome.summary);
  const runs = stub.requests.filter((r) => r.path.endsWith('/run'));
  assert.deepEqual(
    runs.map((r) => [r.path, r.body]),
    [
      ['/api/analyzer/AbuseIPDB_1_0/run', { data: '203.0.113.7', dataType: 'ip', tlp: 2, pap: 2, message: 'Nyx alert a1' }],
      ['/api/analyzer/VirusTotal_GetReport_3_1/run', { data: 'd41d8cd98f00b204e9800998ecf8427e', dataType: 'hash', tlp: 2, pap: 2, message: 'Nyx alert a1' }],
    ],
  );
  assert.ok(stub.requests.every((r) => r.authorization === 'Bearer cortex-test-key'));
  const results = outcome.annotations?.cortex as AnalysisResult[];
  const abuse = results.find((r) => r.analyzer === 'AbuseIPDB_1_0')!;
  assert.equal(abuse.status, 'Success');
  assert.deepEqual(abuse.taxonomies, [{ level: 'malicious', namespace: 'AbuseIPDB', predicate: 'Records', value: 12 }]);
  const vt = results.find((r) => r.analyzer === 'VirusTotal_GetReport_3_1')!;
  assert.equal(vt.status, 'Failure');
  assert.equal(vt.error, 'quota exceeded');
  assert.match(outcome.summary, /AbuseIPDB:Records=12 \(malicious\)/);
  // The report is read only for the job that succeeded.
  assert.deepEqual(stub.requests.filter((r) => r.path.endsWith('/report')).map((r) => r.path), [`/api/job/${abuse.job_id}/report`]);
});

test('a job that never finishes: the wait is bounded and the step fails, naming the state it was stuck in', async () => {
  const d = driver({ domain: ['Stuck_1_0'] }, 50);
  const outcome = await d.apply(ctx, d.parse({ observables: [{ dataType: 'domain', data: 'evil.example' }] }));
  assert.equal(outcome.ok, false);
  assert.match(outcome.summary, /Stuck_1_0 on domain evil.example: Timeout \(still Waiting after 50ms\)/);
});

test('no configured analyzer for the alert\'s observables: nothing is called', async () => {
  const before = stub.requests.length;
  const d = driver({ url: ['Whatever_1_0'] });
  const outcome = await d.apply(ctx, d.parse({ alert: { source: { ip: '203.0.113.9' } } }));
  assert.equal(outcome.ok, true);
  assert.equal(stub.requests.length, before);
  assert.deepEqual(d.dryRun(d.parse({ alert: { source: { ip: '203.0.113.9' } } })), []);
});
