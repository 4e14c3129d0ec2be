import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { responseSchema } from '../../src/response/config.ts';
import { TheHiveClient, createTheHiveAlertDriver, createTheHiveLogDriver } from '../../src/response/drivers/thehive.ts';
import type { DriverContext } from '../../src/response/driver.ts';
import { getLogger } from '../../src/log/logger.ts';
import { TheHiveStub } from '../stubs/thehive/server.ts';

const stub = new TheHiveStub('hive-key-1');
let client: TheHiveClient;
// The drivers never touch Elasticsearch: a context without a cluster is enough here.
const ctx = { client: undefined, log: getLogger('test') } as unknown as DriverContext;

before(async () => {
  const url = await stub.start();
  const config = responseSchema.parse({ thehive: { url, organisation: 'soc' } });
  client = new TheHiveClient(config.thehive!, 'hive-key-1');
});
after(() => stub.stop());

const alert = {
  '@timestamp': '2026-11-20T10:00:00.000Z',
  event: { kind: 'alert', severity: 73, risk_score: 81 },
  rule: { id: 'c86d317c-6495-4cd8-99e3-2fff070b3058', name: 'SSH Brute Force From One Source' },
  threat: { technique: { id: ['T1110.001'] } },
  source: { ip: '203.0.113.7' },
  destination: { ip: '10.0.0.5', domain: 'bastion.example.org' },
  user: { name: 'alice' },
  host: { name: 'bastion' },
  file: { hash: { sha256: 'a'.repeat(64) } },
  nyx: { alert: { status: 'open', reason: '12 failed SSH logins from 203.0.113.7', entity: '203.0.113.7', entity_type: 'ip', bucket_start: '2026-11-20T10:00:00.000Z', namespace: 'x', evidence: { event_ids: [], indices: [] } } },
};

test('creates the alert with sourceRef = the Nyx alert id and observables from the ECS fields (exact request)', async () => {
  const driver = createTheHiveAlertDriver(client);
  const params = driver.parse({ alert, alert_id: 'nyx-alert-1', tags: ['nyx'] });
  const outcome = await driver.apply(ctx, params);
  assert.equal(outcome.ok, true, outcome.summary);
  const req = stub.requests.at(-1)!;
  assert.equal(req.method, 'POST');
  assert.equal(req.path, '/api/v1/alert');
  assert.equal(req.authorization, 'Bearer hive-key-1');
  assert.equal(req.organisation, 'soc');
  assert.deepEqual(req.body, {
    type: 'nyx-alert',
    source: 'nyx',
    sourceRef: 'nyx-alert-1',
    title: 'SSH Brute Force From One Source — 203.0.113.7',
    description: '12 failed SSH logins from 203.0.113.7\n\nNyx alert nyx-alert-1, rule c86d317c-6495-4cd8-99e3-2fff070b3058, risk score 81.',
    severity: 3,
    date: Date.parse('2026-11-20T10:00:00.000Z'),
    tags: ['nyx', 'nyx:rule=c86d317c-6495-4cd8-99e3-2fff070b3058', 'attack:T1110.001'],
    tlp: 2,
    pap: 2,
    observables: [
      { dataType: 'ip', data: '203.0.113.7', tags: ['ecs:source.ip'] },
      { dataType: 'ip', data: '10.0.0.5', tags: ['ecs:destination.ip'] },
      { dataType: 'domain', data: 'bastion.example.org', tags: ['ecs:destination.domain'] },
      { dataType: 'hash', data: 'a'.repeat(64), tags: ['ecs:file.hash.sha256'] },
      { dataType: 'hostname', data: 'bastion', tags: ['ecs:host.name'] },
      { dataType: 'other', data: 'alice', tags: ['ecs:user.name'] },
    ],
  });
  assert.equal(outcome.undo?.thehive_alert_id, '~alert1');
  assert.equal(JSON.stringify(outcome).includes('hive-key-1'), false, 'the API key is never in the outcome');
});

test('a retry hits TheHive\'s duplicate 400: the driver finds the alert by sourceRef and updates it instead', async () => {
  const driver = createTheHiveAlertDriver(client);
  const before = stub.requests.length;
  const outcome = await driver.apply(ctx, driver.parse({ alert: { ...alert, event: { ...alert.event, severity: 90 } }, alert_id: 'nyx-alert-1' }));
  assert.equal(outcome.ok, true, outcome.summary);
  assert.match(outcome.summary, /already existed/);
  const sent = stub.requests.slice(before);
  assert.deepEqual(sent.map((r) => `${r.method} ${r.path}`), ['POST /api/v1/alert', 'POST /api/v1/query', 'PATCH /api/v1/alert/~alert1']);
  assert.equal(outcome.calls[0]?.status, 400);
  assert.deepEqual(sent[1]!.body, {
    query: [
      { _name: 'listAlert' },
      { _name: 'filter', _and: [{ _eq: { _field: 'type', _value: 'nyx-alert' } }, { _eq: { _field: 'source', _value: 'nyx' } }, { _eq: { _field: 'sourceRef', _value: 'nyx-alert-1' } }] },
      { _name: 'page', from: 0, to: 1 },
    ],
  });
  assert.equal((sent[2]!.body as { severity: number }).severity, 4);
  assert.equal(stub.alerts.size, 1, 'still one alert in TheHive');
});

test('promote: a case with the declared tasks plus a response-log task; outcomes are logged on it; case status read back', async () => {
  const driver = createTheHiveAlertDriver(client);
  const before = stub.requests.length;
  const outcome = await driver.apply(ctx, driver.parse({ alert, alert_id: 'nyx-alert-2', promote: true, tasks: ['Reset the password', { title: 'Review activity', description: 'since the login' }] }));
  assert.equal(outcome.ok, true, outcome.summary);
  const sent = stub.requests.slice(before).map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(sent, ['POST /api/v1/alert', 'POST /api/v1/alert/~alert2/case', 'POST /api/v1/case/~case3/task', 'POST /api/v1/case/~case3/task', 'POST /api/v1/case/~case3/task']);
  assert.deepEqual(stub.requests.at(-3)!.body, { title: 'Reset the password' });
  assert.deepEqual(stub.requests.at(-2)!.body, { title: 'Review activity', description: 'since the login' });
  const channel = outcome.undo?.log_channel as { type: string; params: { task_id: string } };
  assert.equal(channel.type, 'thehive_log');

  const log = createTheHiveLogDriver(client);
  const logged = await log.apply(ctx, log.parse({ ...channel.params, message: 'block_ip applied' }));
  assert.equal(logged.ok, true);
  assert.equal(stub.requests.at(-1)!.path, `/api/v1/task/${channel.params.task_id}/log`);
  assert.deepEqual(stub.requests.at(-1)!.body, { message: 'block_ip applied' });

  let status = await driver.status(ctx, driver.parse({ alert, alert_id: 'nyx-alert-2' }), outcome.undo!);
  assert.equal(status.active, true);
  assert.match(status.detail, /status New/);
  stub.closeCase('~case3', 'TruePositive', Date.parse('2026-11-20T12:00:00Z'));
  status = await driver.status(ctx, driver.parse({ alert, alert_id: 'nyx-alert-2' }), outcome.undo!);
  assert.equal(status.active, false);
  assert.match(status.detail, /TruePositive, stage Closed, closed 2026-11-20T12:00:00.000Z/);
});

test('TheHive down: a failed outcome with the reason, not a throw', async () => {
  stub.failWith = 503;
  try {
    const driver = createTheHiveAlertDriver(client);
    const outcome = await driver.apply(ctx, driver.parse({ alert, alert_id: 'nyx-alert-3' }));
    assert.equal(outcome.ok, false);
    assert.match(outcome.summary, /HTTP 503/);
  } finally {
    stub.failWith = undefined;
  }
  const unreachable = new TheHiveClient(responseSchema.parse({ thehive: { url: 'http://127.0.0.1:9', timeout_ms: 2000 } }).thehive!, 'k');
  const outcome = await createTheHiveAlertDriver(unreachable).apply(ctx, createTheHiveAlertDriver(unreachable).parse({ alert, alert_id: 'x' }));
  assert.equal(outcome.ok, false);
  assert.match(outcome.summary, /unreachable/);
});

test('no API key in the environment: refused with the variable name', async () => {
  const keyless = new TheHiveClient(responseSchema.parse({ thehive: { url: stub.url } }).thehive!, undefined);
  const driver = createTheHiveAlertDriver(keyless);
  const outcome = await driver.apply(ctx, driver.parse({ alert, alert_id: 'x' }));
  assert.equal(outcome.ok, false);
  assert.match(outcome.summary, /NYX_THEHIVE_API_KEY is not set/);
});
