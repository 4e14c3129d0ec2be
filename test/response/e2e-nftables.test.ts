import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { alertIndex, writeAlerts } from '../../src/alerts/index.ts';
import { actionId } from '../../src/response/engine.ts';
import { ResponseStore, auditIndex } from '../../src/response/store.ts';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl } from '../support/elastic.ts';
import { canConnect, createNetnsPair, netnsUnavailableReason, startListener, waitFor, type Listener, type NetnsPair } from '../support/netns.ts';
import { TheHiveStub } from '../stubs/thehive/server.ts';
import { dropTestNamespaces, installResponseTemplates, sampleAlert, testNamespace } from './support.ts';

// End to end with every real part that runs here: an alert document in Elasticsearch → one `nyx respond --once`
// pass (the real binary, a config file) → the shipped brute-force playbook → TheHive (stub) alert → a real nftables
// block inside the target network namespace → a complete audit record → after the TTL, the next pass's reaper
// releases the block and traffic flows again.
const run = promisify(execFile);
const skip = await netnsUnavailableReason();
const PORT = 18_081;
const HIVE_KEY = 'e2e-nft-hive-key';
/** Bounds for polling only (process start, nft, set GC); never asserted as durations. */
const DEADLINE_MS = 30_000;
const PLAYBOOK = 'brute-force-block';
const SHIPPED = fileURLToPath(new URL('../../playbooks/brute-force-block.yml', import.meta.url));

/**
 * The shipped brute-force playbook with two test changes: the block's TTL is 3 s, and the kernel element timeout is
 * 600 s, so when traffic flows again it is Nyx's reaper (an `nft delete element`) that released it, not the kernel.
 */
function testPlaybook(): string {
  const shipped = readFileSync(SHIPPED, 'utf8');
  const copy = shipped.replace(/^(\s+)ttl: 1h$/m, '$1ttl: 3s').replace('ttl_seconds: "{{$ttl_seconds}}"', 'ttl_seconds: 600');
  assert.notEqual(copy, shipped);
  assert.match(copy, /ttl: 3s/);
  assert.match(copy, /ttl_seconds: 600/);
  return copy;
}

interface CallEntry {
  description: string;
  status?: number | string;
  result?: string;
}

describe('e2e: alert → nyx respond → TheHive (stub) + nftables block in a netns → audit → TTL release', { skip: skip ?? false }, () => {
  const client = testClient();
  const hive = new TheHiveStub(HIVE_KEY);
  let pair: NetnsPair | undefined;
  let listener: Listener | undefined;
  let dir = '';
  let env: Record<string, string> = {};
  const ns = testNamespace('e2enft');

  before(async () => {
    await installResponseTemplates(client);
    const hiveUrl = await hive.start();
    pair = await createNetnsPair();
    listener = await startListener(pair.target, [pair.targetV4], PORT);
    dir = mkdtempSync(join(tmpdir(), 'nyx-e2e-nft-'));
    const playbooks = join(dir, 'playbooks');
    mkdirSync(playbooks);
    writeFileSync(join(playbooks, 'brute-force-block.yml'), testPlaybook());
    const config = join(dir, 'nyx.yml');
    writeFileSync(
      config,
      [
        `namespace: ${ns}`,
        'response:',
        `  playbooks_dir: ${JSON.stringify(playbooks)}`,
        `  thehive: { url: ${JSON.stringify(hiveUrl)} }`,
        '  drivers:',
        '    block_ip: { backends: [nftables] }',
        `    nftables: { netns: ${pair.target}, table: nyx_e2e }`,
      ].join('\n'),
    );
    env = { ELASTICSEARCH_URL: testElasticUrl(), NYX_CONFIG: config, NYX_THEHIVE_API_KEY: HIVE_KEY };
  });

  after(async () => {
    // Each step on its own: a failure in one never leaves a namespace behind.
    await listener?.stop().catch(() => undefined);
    await pair?.cleanup().catch(() => undefined);
    await hive.stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    await dropTestNamespaces(client).catch(() => undefined);
    await client.close();
  });

  async function elementPresent(ip: string): Promise<boolean> {
    try {
      await run('ip', ['netns', 'exec', pair!.target, 'nft', 'get', 'element', 'inet', 'nyx_e2e', 'blocklist4', '{', ip, '}']);
      return true;
    } catch {
      return false;
    }
  }

  async function respondOnce(): Promise<string> {
    const r = await runNyx(['respond', '--once'], env);
    assert.equal(r.code, 0, `nyx respond --once failed: ${r.stderr}`);
    return r.stdout;
  }

  test('the attacker is blocked by the playbook, recorded with every nft call and its undo, and released by the reaper at TTL end', async () => {
    const p = pair!;
    const attacker = p.attackerV4;
    assert.equal(await canConnect(p.attacker, p.targetV4, PORT), true, 'before the alert the attacker reaches the target');

    // 1. An alert arrives, written the way the detection paths write it.
    const written = await writeAlerts(client, [sampleAlert(ns, { ip: attacker })], { refresh: 'wait_for' });
    assert.equal(written.created, 1, JSON.stringify(written.failures));
    const alertId = written.createdIds[0]!;
    const blockId = actionId(alertId, PLAYBOOK, 'block-source');
    const hiveId = actionId(alertId, PLAYBOOK, 'thehive');

    // 2. One pass of the real worker process.
    const first = await respondOnce();
    assert.match(first, /playbook runs: 1, actions: 2/, first);
    assert.match(first, new RegExp(`${alertId} ${PLAYBOOK}/thehive thehive_alert → applied`), first);
    assert.match(first, new RegExp(`${alertId} ${PLAYBOOK}/block-source block_ip → applied: nftables: ${attacker.replaceAll('.', '\\.')} blocked in inet nyx_e2e blocklist4`), first);

    // 3. The attacker's next connection fails: the kernel drops it.
    assert.equal(await elementPresent(attacker), true, 'the attacker is in the nftables set inside the target namespace');
    assert.equal(await canConnect(p.attacker, p.targetV4, PORT), false, 'the blocked attacker must not connect');

    // 4. TheHive received the alert, sourceRef = the Nyx alert id, with the attacker as an observable, and the block's outcome.
    const creates = hive.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/alert');
    assert.equal(creates.length, 1);
    assert.equal(creates[0]!.authorization, `Bearer ${HIVE_KEY}`);
    const hiveAlert = [...hive.alerts.values()].find((a) => a.sourceRef === alertId);
    assert.ok(hiveAlert, 'TheHive has an alert whose sourceRef is the Nyx alert id');
    assert.ok(hiveAlert.observables.some((o) => o.dataType === 'ip' && o.data === attacker), JSON.stringify(hiveAlert.observables));
    assert.match(hiveAlert.comments.join('\n'), new RegExp(`${PLAYBOOK}/block-source \\(block_ip, level constrain\\): applied — nftables: ${attacker.replaceAll('.', '\\.')} blocked`));

    // 5. The audit record is complete: alert, rule, score, playbook, level, approval, every nft call (argv) and its result, how to undo.
    const store = new ResponseStore(client, ns);
    const hiveRec = (await store.getAction(hiveId))?.record;
    assert.equal(hiveRec?.status, 'applied');
    assert.equal(hiveRec.undo?.thehive_alert_id, hiveAlert._id);

    const rec = (await store.getAction(blockId))?.record;
    assert.ok(rec, 'the block has an action record');
    assert.equal(rec.status, 'applied');
    assert.equal(rec.type, 'block_ip');
    assert.equal(rec.playbook, PLAYBOOK);
    assert.equal(rec.step, 'block-source');
    assert.equal(rec.level, 'constrain');
    assert.deepEqual(rec.approval, { required: false, decision: 'unattended' });
    assert.deepEqual(rec.alert, { id: alertId, rule_id: 'c86d317c-6495-4cd8-99e3-2fff070b3058', rule_name: 'SSH Brute Force From One Source', severity: 73, risk_score: 81, entity: attacker });
    assert.deepEqual(rec.target, { kind: 'ip', value: attacker });
    assert.deepEqual(rec.params, { ip: attacker, ttl_seconds: 600, alert_id: alertId, reason: 'brute force: SSH Brute Force From One Source' });
    const nftPrefix = `[block_ip_nftables] ip netns exec ${p.target} nft `;
    const calls = rec.calls as CallEntry[];
    assert.ok(calls.length >= 2, JSON.stringify(calls));
    for (const c of calls) {
      assert.ok(c.description.startsWith(nftPrefix), `every call is the nft argv it ran: ${c.description}`);
      assert.equal(c.status, 0, `${c.description}: ${c.result ?? ''}`);
    }
    // A fresh namespace: the table, sets, chains and drop rules are created in one transaction, then the element added.
    const setup = calls.find((c) => c.description.includes('add table inet nyx_e2e'));
    assert.ok(setup, JSON.stringify(calls));
    assert.match(setup.description, /add set inet nyx_e2e blocklist4 \{ type ipv4_addr; flags timeout; \}/);
    assert.match(setup.description, /add rule inet nyx_e2e input ip saddr @blocklist4 drop/);
    assert.equal(calls.at(-1)!.description, `${nftPrefix}add element inet nyx_e2e blocklist4 { ${attacker} timeout 600s }`);
    assert.ok(rec.applied_at && rec.expires_at);
    // applied_at and expires_at come from two reads of the clock: the span is the playbook's 3 s TTL, give or take a tick.
    const span = Date.parse(rec.expires_at) - Date.parse(rec.applied_at);
    assert.ok(span >= 3000 && span < 3100, `the playbook TTL (3 s) sets the release time, got ${span} ms`);
    assert.equal(rec.undo_hint, `nyx actions undo ${blockId} (released automatically at ${rec.expires_at})`);
    assert.deepEqual(rec.undo?.backends, [
      { type: 'block_ip_nftables', undo: { backend: 'nftables', ip: attacker, table: 'nyx_e2e', set: 'blocklist4', netns: p.target, expires_at: (rec.undo?.backends as Array<{ undo: { expires_at: string } }>)[0]!.undo.expires_at, expiry_managed_by: 'firewall' } },
    ]);

    await client.indices.refresh({ index: auditIndex(ns) });
    const trail = await store.auditTrail(blockId);
    assert.deepEqual(trail.map((t) => t.event), ['applied']);
    const applied = trail[0]!;
    assert.equal(applied.alert_id, alertId);
    assert.equal(applied.playbook, PLAYBOOK);
    const detail = applied.detail as { level: string; calls: CallEntry[]; undo: string; rule: string; score: number; approval: unknown };
    assert.equal(detail.level, 'constrain');
    assert.equal(detail.rule, 'c86d317c-6495-4cd8-99e3-2fff070b3058');
    assert.equal(detail.score, 81);
    assert.deepEqual(detail.approval, { required: false, decision: 'unattended' });
    assert.deepEqual(detail.calls, rec.calls, 'the audit entry lists the same calls as the record');
    assert.equal(detail.undo, rec.undo_hint);

    // 6. The TTL ends. Wait (bounded) until the recorded release time has passed: the kernel element still has ~10 minutes,
    //    so the attacker stays blocked until a respond pass reaps it.
    const releaseAt = Date.parse(rec.expires_at);
    await waitFor(async () => Date.now() > releaseAt + 500, DEADLINE_MS, 200);
    assert.equal(await canConnect(p.attacker, p.targetV4, PORT), false, 'still blocked: only the reaper may release it');

    const second = await respondOnce();
    assert.match(second, /released: 1/, second);
    assert.equal(await elementPresent(attacker), false, 'the reaper deleted the element');
    assert.equal(await waitFor(() => canConnect(p.attacker, p.targetV4, PORT), DEADLINE_MS), true, 'traffic flows again after the release');

    const released = (await store.getAction(blockId))?.record;
    assert.equal(released?.status, 'released');
    assert.equal(released.released_by, 'ttl');
    assert.equal((released.calls as CallEntry[]).at(-1)!.description, `${nftPrefix}delete element inet nyx_e2e blocklist4 { ${attacker} }`);
    assert.equal((released.calls as CallEntry[]).at(-1)!.status, 0);
    assert.match(released.summary ?? '', /released at TTL end: nftables: .* unblocked$/);
    await client.indices.refresh({ index: auditIndex(ns) });
    const after2 = await store.auditTrail(blockId);
    assert.deepEqual(after2.map((t) => t.event), ['applied', 'released']);
    assert.equal(after2[1]!.actor, 'ttl');
    assert.deepEqual((after2[1]!.detail as { calls: CallEntry[] }).calls.map((c) => c.description), [`${nftPrefix}delete element inet nyx_e2e blocklist4 { ${attacker} }`]);

    // The alert carries the story too (notes from each step and the release).
    const doc = await client.get<{ nyx: { response?: { notes: Array<{ step: string; status: string }> } } }>({ index: alertIndex(ns), id: alertId });
    assert.deepEqual(doc._source!.nyx.response?.notes.map((n) => `${n.step}:${n.status}`), ['thehive:applied', 'block-source:applied', 'block-source:released']);

    // 7. Another pass re-reads the alert (lookback) and changes nothing: no second TheHive alert, no new block.
    const third = await respondOnce();
    assert.match(third, /actions: 0,.*released: 0/, third);
    assert.equal(hive.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/alert').length, 1);
    assert.equal(await elementPresent(attacker), false);
    assert.equal(await canConnect(p.attacker, p.targetV4, PORT), true);
  });
});
