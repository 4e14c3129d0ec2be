import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createOpnsenseDriver } from '../../../src/response/drivers/opnsense.ts';
import { startOpnsenseStub, type OpnsenseStub } from '../../stubs/opnsense/server.ts';
import { driverContext } from './driver-context.ts';

// Against a local stub of OPNsense's documented alias API (no OPNsense runs here).
const KEY = 'test-key';
const SECRET = 'test-secret';
const env = { NYX_OPNSENSE_API_KEY: KEY, NYX_OPNSENSE_API_SECRET: SECRET };
const BASIC = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}`;

describe('block_ip with OPNsense (stub)', () => {
  let stub: OpnsenseStub;
  const ctx = driverContext();
  before(async () => {
    stub = await startOpnsenseStub(KEY, SECRET);
  });
  after(async () => {
    await stub.close();
  });
  beforeEach(() => {
    stub.requests.length = 0;
    stub.aliases.get('nyx_blocklist')!.clear();
  });

  const driver = (e: NodeJS.ProcessEnv = env) => createOpnsenseDriver({ url: stub.url, alias: 'nyx_blocklist' }, { env: e });

  test('apply: list, add to the alias, reconfigure — exact requests with basic auth', async () => {
    const d = driver();
    const params = d.parse({ ip: '203.0.113.7', ttl_seconds: 600 });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    assert.deepEqual(
      stub.requests.map((r) => [r.method, r.path, r.body]),
      [
        ['GET', '/api/firewall/alias_util/list/nyx_blocklist', ''],
        ['POST', '/api/firewall/alias_util/add/nyx_blocklist', '{"address":"203.0.113.7"}'],
        ['POST', '/api/firewall/alias/reconfigure', '{}'],
      ],
    );
    for (const r of stub.requests) assert.equal(r.authorization, BASIC);
    assert.equal(stub.requests[1]!.contentType, 'application/json');
    assert.deepEqual([...stub.aliases.get('nyx_blocklist')!], ['203.0.113.7']);
    assert.equal(outcome.undo?.expiry_managed_by, 'nyx');
    assert.ok(typeof outcome.undo?.expires_at === 'string');
    // Secrets never reach the audit trail.
    assert.doesNotMatch(JSON.stringify(outcome), new RegExp(`${SECRET}|${BASIC.slice(6)}`));
    assert.equal((await d.status(ctx, params, outcome.undo!)).active, true);
  });

  test('apply is idempotent (already listed: no second add) and undo removes it; undo twice is harmless', async () => {
    const d = driver();
    const params = d.parse({ ip: '2001:DB8::7' });
    const first = await d.apply(ctx, params);
    assert.equal(first.ok, true, first.error);
    stub.requests.length = 0;
    const second = await d.apply(ctx, params);
    assert.equal(second.ok, true, second.error);
    assert.match(second.summary, /already listed/);
    assert.deepEqual(stub.requests.map((r) => r.path), ['/api/firewall/alias_util/list/nyx_blocklist', '/api/firewall/alias/reconfigure']);
    assert.deepEqual([...stub.aliases.get('nyx_blocklist')!], ['2001:db8::7']);

    stub.requests.length = 0;
    const undone = await d.undo(ctx, params, second.undo!);
    assert.equal(undone.ok, true, undone.error);
    assert.deepEqual(
      stub.requests.map((r) => [r.method, r.path, r.body]),
      [
        ['POST', '/api/firewall/alias_util/delete/nyx_blocklist', '{"address":"2001:db8::7"}'],
        ['POST', '/api/firewall/alias/reconfigure', '{}'],
      ],
    );
    assert.equal(stub.aliases.get('nyx_blocklist')!.size, 0);
    assert.equal((await d.status(ctx, params, second.undo!)).active, false);
    assert.equal((await d.undo(ctx, params, second.undo!)).ok, true);
  });

  test('error answers: wrong credentials (401), status "failed", HTTP 500, non-JSON, missing secrets', async () => {
    const wrong = driver({ NYX_OPNSENSE_API_KEY: KEY, NYX_OPNSENSE_API_SECRET: 'nope' });
    const denied = await wrong.apply(ctx, wrong.parse({ ip: '198.51.100.1' }));
    assert.equal(denied.ok, false);
    assert.match(denied.error!, /401/);
    assert.equal(stub.aliases.get('nyx_blocklist')!.size, 0);

    const d = driver();
    stub.failNext('/alias_util/add/', 200, '{"status":"failed"}');
    const failed = await d.apply(ctx, d.parse({ ip: '198.51.100.1' }));
    assert.equal(failed.ok, false);
    assert.match(failed.error!, /status "failed"/);
    assert.ok(failed.calls.some((c) => c.status === 200 && String(c.result).includes('failed')), 'the failing call is audited');

    stub.failNext('/alias/reconfigure', 500, '{"errorMessage":"boom"}');
    const broken = await d.apply(ctx, d.parse({ ip: '198.51.100.2' }));
    assert.equal(broken.ok, false);
    assert.match(broken.error!, /HTTP 500/);

    stub.failNext('/alias_util/list/', 200, '<html>login</html>');
    const html = await d.apply(ctx, d.parse({ ip: '198.51.100.3' }));
    assert.equal(html.ok, false);
    assert.match(html.error!, /not JSON/);

    const noSecrets = driver({});
    const missing = await noSecrets.apply(ctx, noSecrets.parse({ ip: '198.51.100.4' }));
    assert.equal(missing.ok, false);
    assert.match(missing.error!, /credentials missing/);
  });

  test('an unreachable firewall is a clear failure, bounded by the timeout', async () => {
    const d = createOpnsenseDriver({ url: 'http://127.0.0.1:9', timeout_ms: 2000 }, { env });
    const outcome = await d.apply(ctx, d.parse({ ip: '198.51.100.9' }));
    assert.equal(outcome.ok, false);
    assert.match(outcome.error!, /ECONNREFUSED|timed out/);
  });

  test('dry run makes no request', () => {
    const d = driver();
    const calls = d.dryRun(d.parse({ ip: '203.0.113.8', ttl_seconds: 60 }));
    assert.equal(stub.requests.length, 0);
    assert.ok(calls.some((c) => c.description === `POST ${stub.url}/api/firewall/alias_util/add/nyx_blocklist`));
  });
});
