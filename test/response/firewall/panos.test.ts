import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createPanosDriver } from '../../../src/response/drivers/panos.ts';
import { startPanosStub, type PanosStub } from '../../stubs/panos/server.ts';
import { waitFor } from '../../support/netns.ts';
import { driverContext } from './driver-context.ts';

// Against a local stub of the PAN-OS XML API (User-ID registered IPs); no firewall runs here.
const KEY = 'LUFRPT1-test-key==';
const env = { NYX_PANOS_API_KEY: KEY };

describe('block_ip with PAN-OS registered IPs (stub)', () => {
  let stub: PanosStub;
  const ctx = driverContext();
  before(async () => {
    stub = await startPanosStub(KEY);
  });
  after(async () => {
    await stub.close();
  });
  beforeEach(() => {
    stub.requests.length = 0;
    stub.registered.clear();
  });

  const driver = (e: NodeJS.ProcessEnv = env, vsys?: string) => createPanosDriver({ url: stub.url, tag: 'nyx-block', ...(vsys ? { vsys } : {}) }, { env: e });

  test('apply registers the IP with the tag and timeout: exact form, header and XML cmd', async () => {
    const d = driver(env, 'vsys1');
    const params = d.parse({ ip: '203.0.113.7', ttl_seconds: 600 });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    assert.equal(stub.requests.length, 1);
    const [req] = stub.requests;
    assert.equal(req!.method, 'POST');
    assert.equal(req!.path, '/api/');
    assert.equal(req!.panKey, KEY);
    assert.equal(req!.contentType, 'application/x-www-form-urlencoded');
    assert.equal(req!.form.key, undefined, 'the key never travels as a parameter');
    assert.deepEqual(req!.form, {
      type: 'user-id',
      vsys: 'vsys1',
      cmd:
        '<uid-message><version>2.0</version><type>update</type><payload><register><entry ip="203.0.113.7">' +
        '<tag><member timeout="600">nyx-block</member></tag></entry></register></payload></uid-message>',
    });
    assert.deepEqual([...stub.registered.get('203.0.113.7')!.keys()], ['nyx-block']);
    assert.equal(outcome.undo?.expiry_managed_by, 'firewall');
    assert.doesNotMatch(JSON.stringify(outcome), /LUFRPT1/);

    const status = await d.status(ctx, params, outcome.undo!);
    assert.equal(status.active, true, status.detail);
    assert.equal(stub.requests[1]!.form.type, 'op');
    assert.equal(stub.requests[1]!.form.cmd, '<show><object><registered-ip><ip>203.0.113.7</ip></registered-ip></object></show>');
  });

  test('re-apply is idempotent ("already exists, ignore" is success); undo unregisters; undo twice is harmless', async () => {
    const d = driver();
    const params = d.parse({ ip: '2001:db8::beef', ttl_seconds: 600 });
    assert.equal((await d.apply(ctx, params)).ok, true);
    const again = await d.apply(ctx, params);
    assert.equal(again.ok, true, again.error);
    assert.match(again.summary, /already exists/);

    stub.requests.length = 0;
    const undone = await d.undo(ctx, params, again.undo!);
    assert.equal(undone.ok, true, undone.error);
    assert.equal(
      stub.requests[0]!.form.cmd,
      '<uid-message><version>2.0</version><type>update</type><payload><unregister><entry ip="2001:db8::beef">' +
        '<tag><member>nyx-block</member></tag></entry></unregister></payload></uid-message>',
    );
    assert.equal((await d.status(ctx, params, again.undo!)).active, false);
    const twice = await d.undo(ctx, params, again.undo!);
    assert.equal(twice.ok, true, twice.error);
    assert.match(twice.summary, /does not exist/);
  });

  test('the firewall expires the tag after the TTL (status follows)', async () => {
    const d = driver();
    const params = d.parse({ ip: '198.51.100.20', ttl_seconds: 1 });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    assert.equal(await waitFor(async () => !(await d.status(ctx, params, outcome.undo!)).active, 15_000), true);
  });

  test('error answers: wrong key (403), a real error line, HTML instead of XML, missing key', async () => {
    const wrong = driver({ NYX_PANOS_API_KEY: 'wrong' });
    const denied = await wrong.apply(ctx, wrong.parse({ ip: '198.51.100.1' }));
    assert.equal(denied.ok, false);
    assert.match(denied.error!, /API key rejected \(Invalid Credential\)/);

    const d = driver();
    stub.failNext(200, '<response status="error" code="17"><msg><line>User-ID is not enabled on vsys1</line></msg></response>');
    const failed = await d.apply(ctx, d.parse({ ip: '198.51.100.2' }));
    assert.equal(failed.ok, false);
    assert.match(failed.error!, /register failed: User-ID is not enabled/);
    assert.equal(failed.calls.length, 1, 'the failing call is audited');

    stub.failNext(502, '<html><body>Bad gateway</body>');
    const html = await d.apply(ctx, d.parse({ ip: '198.51.100.3' }));
    assert.equal(html.ok, false);
    assert.match(html.error!, /HTTP 502/);

    const none = driver({});
    const missing = await none.apply(ctx, none.parse({ ip: '198.51.100.4' }));
    assert.equal(missing.ok, false);
    assert.match(missing.error!, /API key missing/);
  });

  test('dry run shows the exact cmd and sends nothing', () => {
    const d = driver();
    const [call] = d.dryRun(d.parse({ ip: '203.0.113.9', ttl_seconds: 60 }));
    assert.equal(stub.requests.length, 0);
    assert.match(JSON.stringify(call!.request), /member timeout=\\"60\\">nyx-block/);
  });
});
