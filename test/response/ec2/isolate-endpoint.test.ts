import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { createEc2IsolationDriver, TRACKED_CONNECTIONS_NOTE } from '../../../src/response/drivers/ec2.ts';
import { driverContext } from '../firewall/driver-context.ts';
import { FAKE_AWS_ENV, motoUnavailableReason, startMoto, type MotoServer } from './moto.ts';

// Against moto's EC2 API server on loopback (a local AWS API, fake credentials).
const skip = await motoUnavailableReason();
const REGION = 'us-east-1';
const FORENSICS = ['10.99.0.0/16', 'fd00:99::/64'];

describe('isolate_endpoint on EC2 (moto server)', { skip: skip ?? false }, () => {
  let moto: MotoServer | undefined;
  let ec2: EC2Client;
  let vpcId = '';
  let subnetId = '';
  let imageId = '';
  const ctx = driverContext();

  before(async () => {
    moto = await startMoto();
    ec2 = new EC2Client({ region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const vpcs = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
    vpcId = vpcs.Vpcs![0]!.VpcId!;
    const subnets = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
    subnetId = subnets.Subnets![0]!.SubnetId!;
    const images = await ec2.send(new DescribeImagesCommand({}));
    imageId = images.Images![0]!.ImageId!;
  });
  after(async () => {
    ec2?.destroy();
    await moto?.stop();
  });

  const driver = () => createEc2IsolationDriver({ region: REGION, endpoint: moto!.endpoint, forensics_cidrs: FORENSICS }, { env: { ...FAKE_AWS_ENV } });

  async function group(name: string): Promise<string> {
    const out = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `${name}-${Math.random().toString(36).slice(2, 8)}`, Description: name, VpcId: vpcId }));
    return out.GroupId!;
  }

  async function launch(groups: string[], tags: Tag[]): Promise<string> {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: imageId,
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
        SubnetId: subnetId,
        SecurityGroupIds: groups,
        TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
      }),
    );
    return out.Instances![0]!.InstanceId!;
  }

  async function instance(id: string) {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    return out.Reservations![0]!.Instances![0]!;
  }

  const instanceGroups = async (id: string) => ((await instance(id)).SecurityGroups ?? []).map((g) => g.GroupId!).sort();
  const sortedTags = async (id: string) => ((await instance(id)).Tags ?? []).map((t) => `${t.Key}=${t.Value}`).sort();
  const terminationProtected = async (id: string) =>
    (await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'disableApiTermination' }))).DisableApiTermination?.Value === true;

  test('an instance with two groups is isolated, snapshotted, tagged, protected, then released to exactly its groups and tags', async () => {
    const web = await group('web');
    const ssh = await group('ssh');
    const id = await launch([web, ssh], [
      { Key: 'Name', Value: 'web-1' },
      { Key: 'env', Value: 'prod' },
    ]);
    const beforeGroups = await instanceGroups(id);
    const beforeTags = await sortedTags(id);
    assert.deepEqual(beforeGroups, [web, ssh].sort());
    assert.equal(await terminationProtected(id), false);

    const d = driver();
    const params = d.parse({ instance_id: id, alert_id: 'alert-ec2-1' });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    const undo = outcome.undo!;
    const isolationGroup = String(undo.isolation_group_id);

    // The instance is in the isolation group alone.
    assert.deepEqual(await instanceGroups(id), [isolationGroup]);
    assert.deepEqual(Object.values(undo.groups_by_interface as Record<string, string[]>).map((g) => [...g].sort()), [[web, ssh].sort()]);
    // The isolation group: no ingress, egress only to the forensics ranges.
    const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [isolationGroup] }))).SecurityGroups![0]!;
    assert.equal(sg.VpcId, vpcId);
    assert.deepEqual(sg.IpPermissions ?? [], []);
    const egress = (sg.IpPermissionsEgress ?? []).flatMap((p) => [...(p.IpRanges ?? []).map((r) => r.CidrIp), ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6)]);
    assert.deepEqual(egress.sort(), [...FORENSICS].sort());
    // Snapshots exist for the volumes.
    const snapshots = undo.snapshots as Array<{ volume_id: string; snapshot_id: string }>;
    assert.ok(snapshots.length >= 1, 'at least the root volume is snapshotted');
    const found = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshots.map((s) => s.snapshot_id) }));
    assert.equal(found.Snapshots!.length, snapshots.length);
    assert.ok(found.Snapshots!.every((s) => s.Tags?.some((t) => t.Key === 'nyx:quarantine_alert_id' && t.Value === 'alert-ec2-1')));
    // Tagged quarantined with the alert id; termination protection on.
    const tags = await sortedTags(id);
    assert.ok(tags.includes('nyx:quarantined=true'));
    assert.ok(tags.includes('nyx:quarantine_alert_id=alert-ec2-1'));
    assert.equal(await terminationProtected(id), true);
    // The audit says what a group change does not do.
    assert.ok((undo.notes as string[]).includes(TRACKED_CONNECTIONS_NOTE));
    assert.doesNotMatch(JSON.stringify(outcome), /testing/, 'no credentials in the audit');
    assert.equal((await d.status(ctx, params, undo)).active, true);

    // A second isolation reuses the VPC's isolation group.
    const other = await launch([web], [{ Key: 'Name', Value: 'web-2' }]);
    const second = await d.apply(ctx, d.parse({ instance_id: other, alert_id: 'alert-ec2-1b', snapshot_volumes: false }));
    assert.equal(second.ok, true, second.error);
    assert.equal(second.undo?.isolation_group_id, isolationGroup);
    assert.equal((await d.undo(ctx, params, second.undo!)).ok, true);
    assert.deepEqual(await instanceGroups(other), [web]);

    // Applying again (a retry) changes nothing and its own undo is a no-op.
    const again = await d.apply(ctx, params);
    assert.equal(again.ok, true, again.error);
    assert.equal(again.undo?.already_isolated, true);
    assert.equal((await d.undo(ctx, params, again.undo!)).ok, true);
    assert.deepEqual(await instanceGroups(id), [isolationGroup]);

    // Release: exactly the recorded groups, tags and termination protection state.
    const released = await d.undo(ctx, params, undo);
    assert.equal(released.ok, true, released.error);
    assert.deepEqual(await instanceGroups(id), beforeGroups);
    assert.deepEqual(await sortedTags(id), beforeTags);
    assert.equal(await terminationProtected(id), false);
    assert.equal((await d.status(ctx, params, undo)).active, false);
    // Snapshots stay as evidence.
    assert.equal((await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapshots.map((s) => s.snapshot_id) }))).Snapshots!.length, snapshots.length);
    // Releasing twice is harmless.
    assert.equal((await d.undo(ctx, params, undo)).ok, true);
    assert.deepEqual(await instanceGroups(id), beforeGroups);
    assert.deepEqual(await sortedTags(id), beforeTags);
  });

  test('a tag value Nyx overwrites is put back on release', async () => {
    const a = await group('legacy');
    const id = await launch([a], [{ Key: 'nyx:quarantined', Value: 'false' }]);
    const d = driver();
    const params = d.parse({ instance_id: id, alert_id: 'alert-ec2-4', snapshot_volumes: false });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    assert.ok((await sortedTags(id)).includes('nyx:quarantined=true'));
    assert.equal((await d.undo(ctx, params, outcome.undo!)).ok, true);
    assert.deepEqual(await sortedTags(id), ['nyx:quarantined=false']);
  });

  test('an instance with two interfaces: groups are replaced and restored per interface (ModifyNetworkInterfaceAttribute)', async () => {
    // moto merges an instance's groups into attached interfaces when describing them, so this checks the
    // exact calls and their inputs rather than moto's per-interface state.
    const web = await group('web2');
    const extra = await group('extra');
    const id = await launch([web], [{ Key: 'Name', Value: 'multi' }]);
    const eni = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: [extra] }));
    const eniId = eni.NetworkInterface!.NetworkInterfaceId!;
    await ec2.send(new AttachNetworkInterfaceCommand({ InstanceId: id, NetworkInterfaceId: eniId, DeviceIndex: 1 }));
    const d = driver();
    const params = d.parse({ instance_id: id, alert_id: 'alert-ec2-5', snapshot_volumes: false });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    const recorded = outcome.undo!.groups_by_interface as Record<string, string[]>;
    assert.equal(Object.keys(recorded).length, 2);
    assert.ok(recorded[eniId]!.includes(extra));
    const modifies = outcome.calls.filter((c) => c.description === 'EC2 ModifyNetworkInterfaceAttribute');
    assert.deepEqual(
      modifies.map((c) => c.request),
      Object.keys(recorded).map((id) => ({ NetworkInterfaceId: id, Groups: [outcome.undo!.isolation_group_id] })),
    );
    assert.ok(modifies.every((c) => c.status === 200));
    const released = await d.undo(ctx, params, outcome.undo!);
    assert.equal(released.ok, true, released.error);
    assert.deepEqual(
      released.calls.filter((c) => c.description === 'EC2 ModifyNetworkInterfaceAttribute').map((c) => c.request),
      Object.entries(recorded).map(([id, groups]) => ({ NetworkInterfaceId: id, Groups: groups })),
    );
  });

  test('a protected instance (nyx:protected=true) is refused and left untouched', async () => {
    const a = await group('db');
    const id = await launch([a], [{ Key: 'nyx:protected', Value: 'true' }]);
    const beforeGroups = await instanceGroups(id);
    const beforeTags = await sortedTags(id);
    const d = driver();
    const outcome = await d.apply(ctx, d.parse({ instance_id: id, alert_id: 'alert-ec2-2' }));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.error, 'protected instance');
    assert.match(outcome.summary, /protected .* refused, nothing changed/);
    assert.deepEqual(outcome.calls.map((c) => c.description), ['EC2 DescribeInstances'], 'only the read was made');
    assert.deepEqual(await instanceGroups(id), beforeGroups);
    assert.deepEqual(await sortedTags(id), beforeTags);
    assert.equal(await terminationProtected(id), false);
  });

  test('optional network-ACL step: the subnet gets a deny-all ACL, restored on release; prior termination protection stays', async () => {
    const a = await group('app');
    const id = await launch([a], [{ Key: 'Name', Value: 'app-1' }]);
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: true } }));
    const aclOf = async () => {
      const out = await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }));
      return out.NetworkAcls![0]!;
    };
    const originalAcl = (await aclOf()).NetworkAclId!;
    const d = driver();
    const params = d.parse({ instance_id: id, alert_id: 'alert-ec2-3', network_acl: true, snapshot_volumes: false });
    const outcome = await d.apply(ctx, params);
    assert.equal(outcome.ok, true, outcome.error);
    const isolationAcl = await aclOf();
    assert.notEqual(isolationAcl.NetworkAclId, originalAcl);
    assert.ok(isolationAcl.Tags?.some((t) => t.Key === 'nyx:role' && t.Value === 'isolation-deny-all'));
    // Only the implicit deny rules (rule number 32767): nothing allowed.
    assert.ok((isolationAcl.Entries ?? []).every((e) => e.RuleAction === 'deny'), JSON.stringify(isolationAcl.Entries));
    assert.deepEqual(outcome.undo?.snapshots, []);

    const released = await d.undo(ctx, params, outcome.undo!);
    assert.equal(released.ok, true, released.error);
    assert.equal((await aclOf()).NetworkAclId, originalAcl);
    assert.equal(await terminationProtected(id), true, 'protection that was on before stays on');
  });

  test('bad parameters and a missing instance are clear errors', async () => {
    const d = driver();
    assert.throws(() => d.parse({ instance_id: 'web-1', alert_id: 'x' }), /isolate_endpoint: instance_id: expected an EC2 instance id/);
    assert.throws(() => d.parse({ instance_id: 'i-0123456789abcdef0' }), /alert_id/);
    const missing = await d.apply(ctx, d.parse({ instance_id: 'i-0123456789abcdef0', alert_id: 'a' }));
    assert.equal(missing.ok, false);
    assert.match(missing.error!, /InvalidInstanceID|not found/);
  });
});
