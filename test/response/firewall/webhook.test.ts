import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createWebhookFirewallDriver } from '../../../src/response/drivers/webhook-firewall.ts';
import { driverContext } from './driver-context.ts';

// A receiver on loopback that verifies the signature as a real one would.
const SECRET = 'webhook-test-secret';
const env = { NYX_FIREWALL_WEBHOOK_SECRET: SECRET };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  signatureValid: boolean;
}

describe('block_ip through the generic firewall webhook', () => {
  let server: Server;
  let url = '';
  const received: Received[] = [];
  const blocked = new Set<string>();
  let mode: 'normal' | 'error' | 'hang' | 'no-status' = 'normal';
  const ctx = driverContext();

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const timestamp = String(req.headers['x-nyx-timestamp'] ?? '');
        const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex')}`);
        const given = Buffer.from(String(req.headers['x-nyx-signature'] ?? ''));
        const signatureValid = given.length === expected.length && timingSafeEqual(given, expected);
        received.push({ headers: req.headers, body, signatureValid });
        if (mode === 'hang') return; // never answers: the driver's timeout must end it
        if (mode === 'error') {
          res.writeHead(503).end('maintenance');
          return;
        }
        if (!signatureValid) {
          res.writeHead(401).end('bad signature');
          return;
        }
        const msg = JSON.parse(body) as { action: string; ip: string };
        if (msg.action === 'block') blocked.add(msg.ip);
        if (msg.action === 'unblock') blocked.delete(msg.ip);
        if (msg.action === 'status') {
          if (mode === 'no-status') return void res.writeHead(404).end();
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ blocked: blocked.has(msg.ip) }));
        }
        res.writeHead(202).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/firewall`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    received.length = 0;
    blocked.clear();
    mode = 'normal';
  });

  test('block posts signed JSON; status and unblock follow; the same block has the same idempotency key', async () => {
    const d = createWebhookFirewallDriver({ url }, { env });
    const params = d.parse({ ip: '203.0.113.50', ttl_seconds: 120, alert_id: 'a-1', reason: 'ssh brute force' });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    const [first] = received;
    assert.equal(first!.signatureValid, true);
    assert.equal(first!.headers['content-type'], 'application/json');
    const msg = JSON.parse(first!.body) as Record<string, unknown>;
    assert.equal(msg.action, 'block');
    assert.equal(msg.ip, '203.0.113.50');
    assert.equal(msg.ip_version, 4);
    assert.equal(msg.ttl_seconds, 120);
    assert.equal(msg.alert_id, 'a-1');
    assert.equal(msg.reason, 'ssh brute force');
    assert.doesNotMatch(JSON.stringify(outcome), new RegExp(SECRET));

    await d.apply(ctx, params);
    assert.equal((JSON.parse(received[1]!.body) as { idempotency_key: string }).idempotency_key, msg.idempotency_key);
    assert.equal((await d.status(ctx, params, outcome.undo!)).active, true);

    const undone = await d.undo(ctx, params, outcome.undo!);
    assert.equal(undone.ok, true, undone.error);
    assert.equal((JSON.parse(received.at(-1)!.body) as { action: string }).action, 'unblock');
    assert.equal((await d.status(ctx, params, outcome.undo!)).active, false);
  });

  test('IPv6 is canonicalised and flagged', async () => {
    const d = createWebhookFirewallDriver({ url }, { env });
    const outcome = await d.apply(ctx, d.parse({ ip: '2001:DB8:0::1' }));
    assert.equal(outcome.ok, true, outcome.error);
    const msg = JSON.parse(received[0]!.body) as Record<string, unknown>;
    assert.equal(msg.ip, '2001:db8::1');
    assert.equal(msg.ip_version, 6);
  });

  test('a wrong secret is rejected by the receiver and reported; an error status fails the step', async () => {
    const wrong = createWebhookFirewallDriver({ url }, { env: { NYX_FIREWALL_WEBHOOK_SECRET: 'other' } });
    const denied = await wrong.apply(ctx, wrong.parse({ ip: '198.51.100.1' }));
    assert.equal(denied.ok, false);
    assert.match(denied.error!, /HTTP 401/);
    mode = 'error';
    const d = createWebhookFirewallDriver({ url }, { env });
    const failed = await d.apply(ctx, d.parse({ ip: '198.51.100.1' }));
    assert.equal(failed.ok, false);
    assert.match(failed.error!, /HTTP 503: maintenance/);
    const none = createWebhookFirewallDriver({ url }, { env: {} });
    assert.match((await none.apply(ctx, none.parse({ ip: '198.51.100.1' }))).error!, /secret missing/);
  });

  test('a receiver that never answers is ended by the timeout', async () => {
    mode = 'hang';
    const d = createWebhookFirewallDriver({ url, timeout_ms: 500 }, { env });
    const outcome = await d.apply(ctx, d.parse({ ip: '198.51.100.2' }));
    assert.equal(outcome.ok, false);
    assert.match(outcome.error!, /timed out after 500 ms/);
  });

  test('a receiver without status support: status follows Nyx record (expires_at)', async () => {
    mode = 'no-status';
    const d = createWebhookFirewallDriver({ url }, { env });
    const params = d.parse({ ip: '198.51.100.3' });
    const live = await d.status(ctx, params, { backend: 'webhook', ip: '198.51.100.3', expires_at: new Date(Date.now() + 60_000).toISOString() });
    assert.equal(live.active, true);
    const gone = await d.status(ctx, params, { backend: 'webhook', ip: '198.51.100.3', expires_at: new Date(Date.now() - 1000).toISOString() });
    assert.equal(gone.active, false);
  });
});
