import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createBlockIpDriver, createFirewallDrivers, registerFirewallDrivers } from '../../../src/response/drivers/block-ip.ts';
import { registerEc2IsolationDriver } from '../../../src/response/drivers/ec2.ts';
import { actionDriver, actionDriverTypes } from '../../../src/response/drivers/index.ts';
import { createOpnsenseDriver } from '../../../src/response/drivers/opnsense.ts';
import { createPanosDriver } from '../../../src/response/drivers/panos.ts';
import { responseDriversSchema } from '../../../src/response/drivers/settings.ts';
import { startOpnsenseStub, type OpnsenseStub } from '../../stubs/opnsense/server.ts';
import { startPanosStub, type PanosStub } from '../../stubs/panos/server.ts';
import { driverContext } from './driver-context.ts';

// The generic block_ip step over two stubbed firewalls at once.
const env = { NYX_OPNSENSE_API_KEY: 'k', NYX_OPNSENSE_API_SECRET: 's', NYX_PANOS_API_KEY: 'p' };

describe('block_ip over several firewall backends', () => {
  let opnsense: OpnsenseStub;
  let panos: PanosStub;
  const ctx = driverContext();
  before(async () => {
    opnsense = await startOpnsenseStub('k', 's');
    panos = await startPanosStub('p');
  });
  after(async () => {
    await opnsense.close();
    await panos.close();
  });

  test('applies on each backend, keeps each undo record, undoes each, reports status from each', async () => {
    const d = createBlockIpDriver([createOpnsenseDriver({ url: opnsense.url }, { env }), createPanosDriver({ url: panos.url }, { env })]);
    const params = d.parse({ ip: '203.0.113.77', ttl_seconds: 300 });
    const dry = d.dryRun(params);
    assert.ok(dry.some((c) => c.description.startsWith('[block_ip_opnsense]')) && dry.some((c) => c.description.startsWith('[block_ip_panos]')));
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    assert.deepEqual((outcome.undo!.backends as Array<{ type: string }>).map((b) => b.type), ['block_ip_opnsense', 'block_ip_panos']);
    // OPNsense cannot expire entries: the whole action is reaped by Nyx.
    assert.equal(outcome.undo!.expiry_managed_by, 'nyx');
    assert.ok(opnsense.aliases.get('nyx_blocklist')!.has('203.0.113.77'));
    assert.ok(panos.registered.get('203.0.113.77')?.has('nyx-block'));
    assert.equal((await d.status(ctx, params, outcome.undo!)).active, true);
    const undone = await d.undo(ctx, params, outcome.undo!);
    assert.equal(undone.ok, true, undone.error);
    assert.equal(opnsense.aliases.get('nyx_blocklist')!.has('203.0.113.77'), false);
    assert.equal(panos.registered.get('203.0.113.77')?.has('nyx-block'), false);
    assert.equal((await d.status(ctx, params, outcome.undo!)).active, false);
  });

  test('one failing backend: not ok, the error names it, and undo data still covers the one that blocked', async () => {
    const d = createBlockIpDriver([createOpnsenseDriver({ url: opnsense.url }, { env }), createPanosDriver({ url: panos.url }, { env: { NYX_PANOS_API_KEY: 'wrong' } })]);
    const params = d.parse({ ip: '203.0.113.78' });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, false);
    assert.match(outcome.error!, /^block_ip_panos: PAN-OS user-id: API key rejected/);
    assert.deepEqual((outcome.undo!.backends as Array<{ type: string }>).map((b) => b.type), ['block_ip_opnsense']);
    assert.equal((await d.undo(ctx, params, outcome.undo!)).ok, true);
    assert.equal(opnsense.aliases.get('nyx_blocklist')!.has('203.0.113.78'), false);
  });

  test('drivers from settings: each backend plus block_ip; a listed backend without settings is a clear error', () => {
    const settings = responseDriversSchema.parse({ block_ip: { backends: ['nftables', 'panos'] }, panos: { url: panos.url } });
    assert.deepEqual(createFirewallDrivers(settings, { env }).map((d) => d.type), ['block_ip_nftables', 'block_ip_panos', 'block_ip']);
    const broken = responseDriversSchema.parse({ block_ip: { backends: ['opnsense'] } });
    assert.throws(() => createFirewallDrivers(broken, { env }), /lists opnsense, but response\.drivers\.opnsense is not configured/);
    assert.throws(() => responseDriversSchema.parse({ opnsense: { url: 'ftp://x' } }), /http/);
    assert.throws(() => responseDriversSchema.parse({ ec2: { forensics_cidrs: ['10.0.0.0/33'] } }), /CIDR/);
  });

  test('registration with default settings: block_ip over nftables, and isolate_endpoint', () => {
    const settings = responseDriversSchema.parse({});
    registerFirewallDrivers(settings, {});
    registerEc2IsolationDriver(settings.ec2, {});
    for (const type of ['block_ip', 'block_ip_nftables', 'isolate_endpoint']) assert.ok(actionDriverTypes().includes(type), type);
    const dry = actionDriver('block_ip')!.dryRun(actionDriver('block_ip')!.parse({ ip: '192.0.2.10', ttl_seconds: 60 }));
    assert.ok(dry.some((c) => c.description === '[block_ip_nftables] nft add element inet nyx blocklist4 { 192.0.2.10 timeout 60s }'), JSON.stringify(dry));
  });
});
