import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createNftablesDriver } from '../../../src/response/drivers/nftables.ts';
import { canConnect, createNetnsPair, netnsUnavailableReason, startListener, waitFor, type Listener, type NetnsPair } from '../../support/netns.ts';
import { driverContext } from './driver-context.ts';

// A real kernel firewall between two namespaces this test creates: attacker → veth → target (nftables).
const run = promisify(execFile);
const skip = await netnsUnavailableReason();
const PORT = 18_080;
/** Generous bounds for polling (a TTL of 3 s plus set GC and scheduling); never asserted as durations. */
const DEADLINE_MS = 30_000;

describe('block_ip with nftables in a network namespace (real kernel)', { skip: skip ?? false }, () => {
  let pair: NetnsPair | undefined;
  let listener: Listener | undefined;
  const ctx = driverContext();

  before(async () => {
    pair = await createNetnsPair();
    listener = await startListener(pair.target, [pair.targetV4, pair.targetV6], PORT);
  });

  after(async () => {
    await listener?.stop();
    await pair?.cleanup();
  });

  function driver() {
    return createNftablesDriver({ netns: pair!.target, table: 'nyx' });
  }

  async function rulesInChain(chain: string): Promise<number> {
    const { stdout } = await run('ip', ['netns', 'exec', pair!.target, 'nft', '-j', 'list', 'chain', 'inet', 'nyx', chain]);
    const listing = JSON.parse(stdout) as { nftables: Array<Record<string, unknown>> };
    return listing.nftables.filter((e) => 'rule' in e).length;
  }

  test('dry run describes the calls and changes nothing', async () => {
    const d = driver();
    const calls = d.dryRun(d.parse({ ip: pair!.attackerV4, ttl_seconds: 3 }));
    assert.ok(calls.some((c) => c.description.includes(`add element inet nyx blocklist4 { ${pair!.attackerV4} timeout 3s }`)), JSON.stringify(calls));
    assert.ok(calls.some((c) => c.description.startsWith(`ip netns exec ${pair!.target} nft`)));
    const { stdout } = await run('ip', ['netns', 'exec', pair!.target, 'nft', 'list', 'tables']);
    assert.equal(stdout.trim(), '', 'no table created by a dry run');
  });

  test('traffic from the attacker reaches the target (IPv4 and IPv6)', async () => {
    assert.equal(await canConnect(pair!.attacker, pair!.targetV4, PORT), true);
    assert.equal(await canConnect(pair!.attacker, pair!.targetV6, PORT), true);
  });

  test('IPv4: block with a TTL cuts the next connection; after the TTL traffic flows again', async () => {
    const d = driver();
    const params = d.parse({ ip: pair!.attackerV4, ttl_seconds: 3, alert_id: 'alert-1' });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    assert.ok(outcome.undo);
    assert.equal(outcome.undo.ip, pair!.attackerV4);
    assert.equal(outcome.undo.set, 'blocklist4');
    assert.ok(outcome.calls.some((c) => c.description.includes('add element inet nyx blocklist4') && c.status === 0));
    assert.equal(await canConnect(pair!.attacker, pair!.targetV4, PORT), false, 'blocked connection must fail');
    // Only the blocked address family is affected.
    assert.equal(await canConnect(pair!.attacker, pair!.targetV6, PORT), true);
    const flowsAgain = await waitFor(() => canConnect(pair!.attacker, pair!.targetV4, PORT), DEADLINE_MS);
    assert.equal(flowsAgain, true, 'traffic flows again once the element timeout ends');
    assert.equal((await d.status(ctx, params, outcome.undo)).active, false);
  });

  test('IPv4: block, re-apply (idempotent, one element, no duplicate rules), undo → traffic flows; undo again is harmless', async () => {
    const d = driver();
    const params = d.parse({ ip: pair!.attackerV4, ttl_seconds: 600 });
    const first = await d.apply(ctx, params);
    assert.equal(first.ok, true, first.error);
    const second = await d.apply(ctx, params);
    assert.equal(second.ok, true, second.error);
    assert.match(second.summary, /already blocked/);
    assert.equal(await rulesInChain('input'), 2, 'exactly one drop rule per set');
    assert.equal(await rulesInChain('forward'), 2);
    const status = await d.status(ctx, params, second.undo!);
    assert.equal(status.active, true);
    assert.match(status.detail, /expires in \d+m\d+s/);
    assert.equal(await canConnect(pair!.attacker, pair!.targetV4, PORT), false);

    const undone = await d.undo(ctx, params, second.undo!);
    assert.equal(undone.ok, true, undone.error);
    assert.ok(undone.calls.some((c) => c.description.includes(`delete element inet nyx blocklist4 { ${pair!.attackerV4} }`)));
    assert.equal(await waitFor(() => canConnect(pair!.attacker, pair!.targetV4, PORT), DEADLINE_MS), true);
    assert.equal((await d.status(ctx, params, second.undo!)).active, false);
    const again = await d.undo(ctx, params, second.undo!);
    assert.equal(again.ok, true, again.error);
    assert.match(again.summary, /was not blocked/);
  });

  test('IPv6: block with a TTL, expiry, then block and undo', async () => {
    const d = driver();
    // Written uncompressed on purpose: the driver canonicalises it.
    const params = d.parse({ ip: pair!.attackerV6.replace('::', ':0:0:0:0:0:').toUpperCase(), ttl_seconds: 3 });
    assert.equal(params.ip, pair!.attackerV6);
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    assert.equal(outcome.undo?.set, 'blocklist6');
    assert.equal(await canConnect(pair!.attacker, pair!.targetV6, PORT), false);
    assert.equal(await canConnect(pair!.attacker, pair!.targetV4, PORT), true);
    assert.equal(await waitFor(() => canConnect(pair!.attacker, pair!.targetV6, PORT), DEADLINE_MS), true);

    const long = await d.apply(ctx, d.parse({ ip: pair!.attackerV6, ttl_seconds: 600 }));
    assert.equal(long.ok, true, long.error);
    assert.equal(await canConnect(pair!.attacker, pair!.targetV6, PORT), false);
    const undone = await d.undo(ctx, params, long.undo!);
    assert.equal(undone.ok, true, undone.error);
    assert.equal(await waitFor(() => canConnect(pair!.attacker, pair!.targetV6, PORT), DEADLINE_MS), true);
  });

  test('concurrent applies on a fresh table create it once (no duplicate rules)', async () => {
    await run('ip', ['netns', 'exec', pair!.target, 'nft', 'delete', 'table', 'inet', 'nyx']);
    const d = driver();
    // Set elements only (documentation addresses): no traffic is sent to them.
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map((n) => d.apply(ctx, d.parse({ ip: `192.0.2.${n}`, ttl_seconds: 60 }))));
    for (const o of outcomes) assert.equal(o.ok, true, o.error);
    assert.equal(await rulesInChain('input'), 2);
    for (const o of outcomes) assert.equal((await d.undo(ctx, d.parse({ ip: String(o.undo!.ip) }), o.undo!)).ok, true);
  });

  test('an established connection is cut too (the set is matched on every packet, not only new ones)', async () => {
    // Checked through the ruleset: the drop rules carry no ct state qualifier.
    const { stdout } = await run('ip', ['netns', 'exec', pair!.target, 'nft', 'list', 'chain', 'inet', 'nyx', 'input']);
    assert.match(stdout, /ip saddr @blocklist4 drop/);
    assert.doesNotMatch(stdout, /ct state/);
  });
});

describe('block_ip nftables parameters (no kernel needed)', () => {
  const d = createNftablesDriver({ netns: 'unused' });
  test('rejects anything that is not one IP address, naming the field', () => {
    for (const bad of ['not-an-ip', '10.0.0.0/8', '1.2.3.4; nft flush ruleset', 'fe80::1%eth0', '', '999.1.1.1', '1.2.3.4 }']) {
      assert.throws(() => d.parse({ ip: bad }), /block_ip_nftables: ip: /, bad);
    }
    assert.throws(() => d.parse({ ip: '192.0.2.1', ttl_seconds: 0 }), /ttl_seconds/);
    assert.throws(() => d.parse({ ip: '192.0.2.1', extra: 1 }), /Unrecognized key|extra/);
  });
  test('canonicalises IPv4-mapped and uncompressed IPv6', () => {
    assert.equal(d.parse({ ip: '::ffff:192.0.2.9' }).ip, '192.0.2.9');
    assert.equal(d.parse({ ip: '2001:DB8:0:0:0:0:0:1' }).ip, '2001:db8::1');
    assert.equal(d.parse({ ip: '192.0.2.1' }).ttl_seconds, 3600);
  });
  test('rejects tampered undo data before running anything', async () => {
    await assert.rejects(d.undo(driverContext(), d.parse({ ip: '192.0.2.1' }), { backend: 'nftables', ip: '192.0.2.1', table: 'nyx; flush', set: 'x' }), /undo data: table/);
    await assert.rejects(d.undo(driverContext(), d.parse({ ip: '192.0.2.1' }), { backend: 'nftables', ip: 'nope', table: 'nyx', set: 'blocklist4' }), /not a valid/);
  });
});
