import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { responseSchema } from '../../src/response/config.ts';
import { createWebhookDriver, createWebhookSender } from '../../src/response/drivers/webhook.ts';
import { createDisableAccountDriver } from '../../src/response/drivers/disable-account.ts';
import { createSightingDriver, registerSightingSink, webhookSightingSink } from '../../src/response/drivers/sighting.ts';
import type { DriverContext } from '../../src/response/driver.ts';
import { getLogger } from '../../src/log/logger.ts';

const ctx = { client: undefined, log: getLogger('test') } as unknown as DriverContext;
const received: Array<{ path: string; signature?: string; raw: string }> = [];
let server: Server;
let url = '';
let slowMs = 0;

before(async () => {
  server = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    received.push({ path: req.url ?? '', raw, ...(typeof req.headers['x-nyx-signature'] === 'string' ? { signature: req.headers['x-nyx-signature'] } : {}) });
    if (slowMs) await new Promise((r) => setTimeout(r, slowMs));
    res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

function config(extra: Record<string, unknown> = {}) {
  return responseSchema.parse({
    webhooks: { soc: { url: `${url}/soc`, hmac_key_env: 'NYX_WEBHOOK_SOC_KEY', timeout_ms: 200 }, dir: { url: `${url}/dir` }, broken: { url: `${url}/fail` } },
    ...extra,
  });
}
const env = { NYX_WEBHOOK_SOC_KEY: 'k3y' };

test('webhook: the body is HMAC-SHA256 signed with the key from env; the key is never recorded', async () => {
  const d = createWebhookDriver(createWebhookSender(config().webhooks, env));
  const outcome = await d.apply(ctx, d.parse({ target: 'soc', event: 'block', payload: { ip: '203.0.113.7' } }));
  assert.equal(outcome.ok, true, outcome.summary);
  const got = received.at(-1)!;
  assert.equal(got.raw, '{"event":"block","ip":"203.0.113.7"}');
  assert.equal(got.signature, `sha256=${createHmac('sha256', 'k3y').update(got.raw).digest('hex')}`);
  assert.equal(JSON.stringify(outcome).includes('k3y'), false);
  assert.deepEqual(outcome.calls[0]?.request, { event: 'block', ip: '203.0.113.7' });
});

test('webhook: a timeout and a 500 are failed outcomes; a missing key names its env var', async () => {
  const d = createWebhookDriver(createWebhookSender(config().webhooks, env));
  slowMs = 1_000;
  try {
    const slow = await d.apply(ctx, d.parse({ target: 'soc', payload: {} }));
    assert.equal(slow.ok, false);
    assert.match(slow.summary, /no answer within 200ms/);
  } finally {
    slowMs = 0;
  }
  const broken = await d.apply(ctx, d.parse({ target: 'broken', payload: {} }));
  assert.equal(broken.ok, false);
  assert.match(broken.summary, /HTTP 500/);
  const keyless = createWebhookDriver(createWebhookSender(config().webhooks, {}));
  const missing = await keyless.apply(ctx, keyless.parse({ target: 'soc', payload: {} }));
  assert.match(missing.summary, /NYX_WEBHOOK_SOC_KEY is not set/);
});

test('sighting: sent through the webhook sink by default, through a registered sink (MISP client) when one is', async () => {
  const sender = createWebhookSender(config().webhooks, env);
  const d = createSightingDriver(webhookSightingSink(sender, 'dir'));
  const outcome = await d.apply(ctx, d.parse({ value: '203.0.113.7', type: 'ip-src', timestamp: '2026-11-20T10:00:00.000Z', alert_id: 'a1' }));
  assert.equal(outcome.ok, true);
  assert.deepEqual(JSON.parse(received.at(-1)!.raw), { event: 'sighting', sighting: { value: '203.0.113.7', type: 'ip-src', source: 'nyx', timestamp: '2026-11-20T10:00:00.000Z', alert_id: 'a1' } });
  const seen: string[] = [];
  registerSightingSink({ describe: () => 'misp', send: async (s) => void seen.push(s.value) });
  try {
    assert.equal((await d.apply(ctx, d.parse({ value: '198.51.100.1' }))).ok, true);
    assert.deepEqual(seen, ['198.51.100.1']);
  } finally {
    registerSightingSink(undefined);
  }
});

test('disable_account (linux): the configured argv with the user appended, via execFile; undo unlocks; bad names refused', async () => {
  const log = join(mkdtempSync(join(tmpdir(), 'nyx-usermod-')), 'calls.log');
  process.env.FAKE_USERMOD_LOG = log;
  const fake = fileURLToPath(new URL('./fixtures/fake-usermod.mjs', import.meta.url));
  const c = config({ disable_account: { lock_command: [process.execPath, fake, '-L'], unlock_command: [process.execPath, fake, '-U'] } });
  const d = createDisableAccountDriver(c.disable_account, createWebhookSender(c.webhooks, env));
  const params = d.parse({ user: 'alice' });
  const locked = await d.apply(ctx, params);
  assert.equal(locked.ok, true, locked.summary);
  const undone = await d.undo(ctx, params, locked.undo ?? {});
  assert.equal(undone.ok, true);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)), [['-L', 'alice'], ['-U', 'alice']]);

  const failed = await d.apply(ctx, d.parse({ user: 'ghost' }));
  assert.equal(failed.ok, false);
  assert.match(failed.summary, /exited 6: usermod: user 'ghost' does not exist/);

  for (const bad of ['alice; rm -rf /', '$(id)', '-o', 'Alice', 'a'.repeat(40), '../etc']) {
    assert.throws(() => d.parse({ user: bad }), /not a valid Linux user name/, bad);
  }
  assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 3, 'nothing ran for the bad names');
  assert.ok(existsSync(log));
});

test('disable_account (directory): POSTs disable/enable to the directory-service webhook', async () => {
  const c = config({ disable_account: { directory_webhook: 'dir' } });
  const d = createDisableAccountDriver(c.disable_account, createWebhookSender(c.webhooks, env));
  const params = d.parse({ user: 'alice@corp.example', method: 'directory' });
  assert.equal((await d.apply(ctx, params)).ok, true);
  assert.deepEqual(JSON.parse(received.at(-1)!.raw), { event: 'account', action: 'disable', user: 'alice@corp.example' });
  assert.equal((await d.undo(ctx, params, {})).ok, true);
  assert.deepEqual(JSON.parse(received.at(-1)!.raw), { event: 'account', action: 'enable', user: 'alice@corp.example' });
});
