import {
  AuthorizeSecurityGroupEgressCommand,
  CreateNetworkAclCommand,
  CreateSecurityGroupCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceNetworkAclAssociationCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionDriver, ActionOutcome, DriverContext } from '../driver.ts';
import { errorText, guardrailRefusal, parseParams, parseUndo } from './common.ts';
import { registerActionDriver } from './index.ts';
import { ec2SettingsSchema, type Ec2Settings } from './settings.ts';

/**
 * isolate_endpoint for EC2 (AWS SDK v3). Apply, in order: read the instance (refusing one tagged
 * nyx:protected=true), record its groups per network interface, its tags and its termination
 * protection; enable termination protection; snapshot its EBS volumes (evidence, kept on release);
 * make sure the VPC's isolation group exists with no ingress and egress only to the forensics
 * ranges; put every interface in that group alone; tag the instance quarantined with the alert id;
 * optionally swap each subnet's network ACL for a deny-all one. Release puts back exactly what was
 * recorded. Credentials come from env (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN)
 * or the SDK's default chain (instance role), never from config.
 */

export const ISOLATE_ENDPOINT_TYPE = 'isolate_endpoint';
export const PROTECTED_TAG = 'nyx:protected';
export const QUARANTINE_TAGS = { quarantined: 'nyx:quarantined', alertId: 'nyx:quarantine_alert_id', at: 'nyx:quarantined_at' } as const;

/** Recorded in the audit with every isolation: what a security-group swap does not do. */
export const TRACKED_CONNECTIONS_NOTE =
  'Changing security groups does not cut connections already tracked by the security group: existing flows continue until they end or go idle; ' +
  'only new flows are held to the isolation group. The network-ACL step (stateless, subnet-wide) cuts them, at the cost of isolating every instance in the subnet.';

const regionSchema = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1');

export const isolateEndpointParamsSchema = z
  .object({
    instance_id: z.string().regex(/^i-[0-9a-f]{8,17}$/, 'expected an EC2 instance id such as i-0123456789abcdef0'),
    alert_id: z.string().min(1).max(256),
    region: regionSchema.optional(),
    /** Overrides response.drivers.ec2.network_acl for this step. */
    network_acl: z.boolean().optional(),
    snapshot_volumes: z.boolean().optional(),
  })
  .strict();
export type IsolateEndpointParams = z.infer<typeof isolateEndpointParamsSchema>;

const tagSchema = z.object({ Key: z.string(), Value: z.string().default('') });
type Tag = z.infer<typeof tagSchema>;

const undoSchema = z.object({
  instance_id: z.string(),
  region: regionSchema,
  alert_id: z.string(),
  /** Set when apply found the instance already quarantined: that earlier action holds the record. */
  already_isolated: z.boolean().optional(),
  groups_by_interface: z.record(z.string(), z.array(z.string())).default({}),
  tags: z.array(tagSchema).default([]),
  added_tag_keys: z.array(z.string()).default([]),
  termination_protection_was: z.boolean().optional(),
  snapshots: z.array(z.object({ volume_id: z.string(), snapshot_id: z.string() })).default([]),
  isolation_group_id: z.string().optional(),
  network_acls: z.array(z.object({ subnet_id: z.string(), original_acl_id: z.string(), isolation_acl_id: z.string() })).default([]),
  /** Steps that completed, in order: a failed apply still returns this so the engine can undo them. */
  completed: z.array(z.string()).default([]),
  notes: z.array(z.string()).default([]),
});
type IsolationRecord = z.infer<typeof undoSchema>;

// The parts of DescribeInstances the driver relies on.
const instanceSchema = z
  .object({
    InstanceId: z.string(),
    VpcId: z.string().optional(),
    State: z.object({ Name: z.string().optional() }).loose().optional(),
    Tags: z.array(tagSchema).default([]),
    PrivateIpAddress: z.string().optional(),
    PublicIpAddress: z.string().optional(),
    SecurityGroups: z.array(z.object({ GroupId: z.string() }).loose()).default([]),
    NetworkInterfaces: z
      .array(
        z
          .object({
            NetworkInterfaceId: z.string(),
            SubnetId: z.string().optional(),
            VpcId: z.string().optional(),
            Groups: z.array(z.object({ GroupId: z.string() }).loose()).default([]),
            PrivateIpAddresses: z.array(z.object({ PrivateIpAddress: z.string().optional() }).loose()).default([]),
            Ipv6Addresses: z.array(z.object({ Ipv6Address: z.string().optional() }).loose()).default([]),
            Association: z.object({ PublicIp: z.string().optional() }).loose().optional(),
          })
          .loose(),
      )
      .default([]),
    BlockDeviceMappings: z.array(z.object({ Ebs: z.object({ VolumeId: z.string() }).loose().optional() }).loose()).default([]),
  })
  .loose();
type Instance = z.infer<typeof instanceSchema>;

/** Every address an instance holds (primary, secondary, public, IPv6), as EC2 describes it. */
function instanceAddresses(instance: Instance): string[] {
  const found = [instance.PrivateIpAddress, instance.PublicIpAddress];
  for (const eni of instance.NetworkInterfaces) {
    found.push(...eni.PrivateIpAddresses.map((a) => a.PrivateIpAddress), ...eni.Ipv6Addresses.map((a) => a.Ipv6Address), eni.Association?.PublicIp);
  }
  return [...new Set(found.filter((a): a is string => !!a))];
}
const describeInstancesSchema = z.object({ Reservations: z.array(z.object({ Instances: z.array(z.unknown()).default([]) }).loose()).default([]) }).loose();
const securityGroupSchema = z
  .object({
    GroupId: z.string(),
    IpPermissions: z.array(z.record(z.string(), z.unknown())).default([]),
    IpPermissionsEgress: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .loose();
const networkAclSchema = z
  .object({
    NetworkAclId: z.string(),
    Associations: z.array(z.object({ NetworkAclAssociationId: z.string(), SubnetId: z.string().optional() }).loose()).default([]),
  })
  .loose();

export interface Ec2DriverOptions {
  env?: NodeJS.ProcessEnv;
  type?: string;
}

export function createEc2IsolationDriver(input: Partial<Ec2Settings> = {}, options: Ec2DriverOptions = {}): ActionDriver<IsolateEndpointParams> {
  const settings = ec2SettingsSchema.parse(input);
  const type = options.type ?? ISOLATE_ENDPOINT_TYPE;
  const env = options.env ?? process.env;
  const clients = new Map<string, EC2Client>();

  function client(region: string): EC2Client {
    let c = clients.get(region);
    if (!c) {
      const accessKeyId = env.AWS_ACCESS_KEY_ID;
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
      c = new EC2Client({
        region,
        ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
        // Explicit env credentials when given; otherwise the SDK's default chain (e.g. an instance role).
        ...(accessKeyId && secretAccessKey
          ? { credentials: { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } }
          : {}),
        maxAttempts: 3,
        requestHandler: { requestTimeout: settings.timeout_ms, connectionTimeout: Math.min(settings.timeout_ms, 10_000) },
      });
      clients.set(region, c);
    }
    return c;
  }

  /** Runs one EC2 call, audited by its action name and safe input (no credentials ever in there). */
  async function send<O>(
    ctx: DriverContext,
    calls: ActionCall[],
    action: string,
    input: object,
    exec: (options: { abortSignal?: AbortSignal }) => Promise<O>,
  ): Promise<O> {
    const audit: ActionCall = { description: `EC2 ${action}`, request: input };
    calls.push(audit);
    try {
      const output = await exec(ctx.signal ? { abortSignal: ctx.signal } : {});
      audit.status = (output as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 200;
      return output;
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      audit.status = name;
      audit.result = errorText(err);
      throw new NyxError(`EC2 ${action}: ${name}: ${errorText(err)}`);
    }
  }

  async function describeInstance(ctx: DriverContext, calls: ActionCall[], ec2: EC2Client, instanceId: string): Promise<Instance> {
    const input = { InstanceIds: [instanceId] };
    const raw = await send<unknown>(ctx, calls, 'DescribeInstances', input, (o) => ec2.send(new DescribeInstancesCommand(input), o));
    const instances = describeInstancesSchema.parse(raw).Reservations.flatMap((r) => r.Instances);
    const found = instances.map((i) => instanceSchema.parse(i)).find((i) => i.InstanceId === instanceId);
    if (!found) throw new NyxError(`EC2 instance ${instanceId} not found`);
    return found;
  }

  function isTrue(tags: Tag[], key: string): boolean {
    return tags.some((t) => t.Key === key && t.Value.trim().toLowerCase() === 'true');
  }

  function permissionFor(cidr: string): IpPermission {
    return cidr.includes(':') ? { IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: cidr }] } : { IpProtocol: '-1', IpRanges: [{ CidrIp: cidr }] };
  }

  /** The VPC's isolation group, created when missing and reconciled: no ingress, egress only to the forensics ranges. */
  async function ensureIsolationGroup(ctx: DriverContext, calls: ActionCall[], ec2: EC2Client, vpcId: string, alertId: string): Promise<string> {
    const filter = { Filters: [{ Name: 'group-name', Values: [settings.isolation_group_name] }, { Name: 'vpc-id', Values: [vpcId] }] };
    const described = await send<{ SecurityGroups?: unknown[] }>(ctx, calls, 'DescribeSecurityGroups', filter, (o) => ec2.send(new DescribeSecurityGroupsCommand(filter), o));
    let group = (described.SecurityGroups ?? []).map((g) => securityGroupSchema.parse(g))[0];
    if (!group) {
      const create = {
        GroupName: settings.isolation_group_name,
        Description: 'Nyx isolation: no ingress, egress only to forensics ranges',
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group' as const, Tags: [{ Key: 'nyx:role', Value: 'isolation' }, { Key: 'nyx:created_for_alert', Value: alertId }] }],
      };
      const created = await send<{ GroupId?: string }>(ctx, calls, 'CreateSecurityGroup', create, (o) => ec2.send(new CreateSecurityGroupCommand(create), o));
      const createdId = created.GroupId;
      if (!createdId) throw new NyxError('EC2 CreateSecurityGroup returned no GroupId');
      const byId = { GroupIds: [createdId] };
      const reread = await send<{ SecurityGroups?: unknown[] }>(ctx, calls, 'DescribeSecurityGroups', byId, (o) => ec2.send(new DescribeSecurityGroupsCommand(byId), o));
      group = (reread.SecurityGroups ?? []).map((g) => securityGroupSchema.parse(g))[0] ?? { GroupId: createdId, IpPermissions: [], IpPermissionsEgress: [] };
    }
    const groupId = group.GroupId;
    if (group.IpPermissions.length) {
      const revoke = { GroupId: groupId, IpPermissions: group.IpPermissions as IpPermission[] };
      await send(ctx, calls, 'RevokeSecurityGroupIngress', revoke, (o) => ec2.send(new RevokeSecurityGroupIngressCommand(revoke), o));
    }
    const wanted = new Set(settings.forensics_cidrs);
    const keep = new Set<string>();
    const unwanted: IpPermission[] = [];
    for (const perm of group.IpPermissionsEgress as IpPermission[]) {
      const cidrs = [...(perm.IpRanges ?? []).map((r) => r.CidrIp ?? ''), ...(perm.Ipv6Ranges ?? []).map((r) => r.CidrIpv6 ?? '')];
      const exact = perm.IpProtocol === '-1' && !perm.UserIdGroupPairs?.length && !perm.PrefixListIds?.length && cidrs.length > 0 && cidrs.every((c) => wanted.has(c));
      if (exact) cidrs.forEach((c) => keep.add(c));
      else unwanted.push(perm);
    }
    if (unwanted.length) {
      // A new group allows all egress by default: that rule goes first.
      const revoke = { GroupId: groupId, IpPermissions: unwanted };
      await send(ctx, calls, 'RevokeSecurityGroupEgress', revoke, (o) => ec2.send(new RevokeSecurityGroupEgressCommand(revoke), o));
    }
    const missing = settings.forensics_cidrs.filter((c) => !keep.has(c));
    if (missing.length) {
      const authorize = { GroupId: groupId, IpPermissions: missing.map(permissionFor) };
      await send(ctx, calls, 'AuthorizeSecurityGroupEgress', authorize, (o) => ec2.send(new AuthorizeSecurityGroupEgressCommand(authorize), o));
    }
    return groupId;
  }

  /** A deny-all network ACL in the VPC (a new ACL holds only the implicit deny rules), reused across isolations. */
  async function ensureDenyAllAcl(ctx: DriverContext, calls: ActionCall[], ec2: EC2Client, vpcId: string): Promise<string> {
    const filter = { Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'tag:nyx:role', Values: ['isolation-deny-all'] }] };
    const found = await send<{ NetworkAcls?: unknown[] }>(ctx, calls, 'DescribeNetworkAcls', filter, (o) => ec2.send(new DescribeNetworkAclsCommand(filter), o));
    const existing = (found.NetworkAcls ?? []).map((a) => networkAclSchema.parse(a))[0];
    if (existing) return existing.NetworkAclId;
    const create = { VpcId: vpcId, TagSpecifications: [{ ResourceType: 'network-acl' as const, Tags: [{ Key: 'nyx:role', Value: 'isolation-deny-all' }] }] };
    const created = await send<{ NetworkAcl?: { NetworkAclId?: string } }>(ctx, calls, 'CreateNetworkAcl', create, (o) => ec2.send(new CreateNetworkAclCommand(create), o));
    const id = created.NetworkAcl?.NetworkAclId;
    if (!id) throw new NyxError('EC2 CreateNetworkAcl returned no NetworkAclId');
    return id;
  }

  async function subnetAclAssociation(ctx: DriverContext, calls: ActionCall[], ec2: EC2Client, subnetId: string): Promise<{ aclId: string; associationId: string }> {
    const filter = { Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] };
    const found = await send<{ NetworkAcls?: unknown[] }>(ctx, calls, 'DescribeNetworkAcls', filter, (o) => ec2.send(new DescribeNetworkAclsCommand(filter), o));
    for (const acl of (found.NetworkAcls ?? []).map((a) => networkAclSchema.parse(a))) {
      const association = acl.Associations.find((a) => a.SubnetId === subnetId);
      if (association) return { aclId: acl.NetworkAclId, associationId: association.NetworkAclAssociationId };
    }
    throw new NyxError(`no network ACL association found for subnet ${subnetId}`);
  }

  async function snapshotVolumes(ctx: DriverContext, calls: ActionCall[], ec2: EC2Client, instance: Instance, alertId: string) {
    const snapshots: Array<{ volume_id: string; snapshot_id: string }> = [];
    for (const mapping of instance.BlockDeviceMappings) {
      const volumeId = mapping.Ebs?.VolumeId;
      if (!volumeId) continue;
      // A retry for the same alert reuses the snapshot it already took.
      const filter = { Filters: [{ Name: 'volume-id', Values: [volumeId] }, { Name: 'tag:nyx:quarantine_alert_id', Values: [alertId] }] };
      const prior = await send<{ Snapshots?: Array<{ SnapshotId?: string }> }>(ctx, calls, 'DescribeSnapshots', filter, (o) => ec2.send(new DescribeSnapshotsCommand({ ...filter, OwnerIds: ['self'] }), o));
      const existing = prior.Snapshots?.find((s) => s.SnapshotId)?.SnapshotId;
      if (existing) {
        snapshots.push({ volume_id: volumeId, snapshot_id: existing });
        continue;
      }
      const create = {
        VolumeId: volumeId,
        Description: `Nyx isolation evidence: ${instance.InstanceId} alert ${alertId}`.slice(0, 255),
        TagSpecifications: [
          {
            ResourceType: 'snapshot' as const,
            Tags: [
              { Key: 'nyx:quarantine_alert_id', Value: alertId },
              { Key: 'nyx:instance_id', Value: instance.InstanceId },
            ],
          },
        ],
      };
      const created = await send<{ SnapshotId?: string }>(ctx, calls, 'CreateSnapshot', create, (o) => ec2.send(new CreateSnapshotCommand(create), o));
      if (!created.SnapshotId) throw new NyxError(`EC2 CreateSnapshot for ${volumeId} returned no SnapshotId`);
      snapshots.push({ volume_id: volumeId, snapshot_id: created.SnapshotId });
    }
    return snapshots;
  }

  async function terminationProtection(ctx: DriverContext, calls: ActionCall[], ec2: EC2Client, instanceId: string): Promise<boolean> {
    const input = { InstanceId: instanceId, Attribute: 'disableApiTermination' as const };
    const out = await send<{ DisableApiTermination?: { Value?: boolean } }>(ctx, calls, 'DescribeInstanceAttribute', input, (o) => ec2.send(new DescribeInstanceAttributeCommand(input), o));
    return out.DisableApiTermination?.Value === true;
  }

  async function setTerminationProtection(ctx: DriverContext, calls: ActionCall[], ec2: EC2Client, instanceId: string, value: boolean): Promise<void> {
    const input = { InstanceId: instanceId, DisableApiTermination: { Value: value } };
    await send(ctx, calls, 'ModifyInstanceAttribute', input, (o) => ec2.send(new ModifyInstanceAttributeCommand(input), o));
  }

  async function setInterfaceGroups(ctx: DriverContext, calls: ActionCall[], ec2: EC2Client, interfaceId: string, groups: string[]): Promise<void> {
    const input = { NetworkInterfaceId: interfaceId, Groups: groups };
    await send(ctx, calls, 'ModifyNetworkInterfaceAttribute', input, (o) => ec2.send(new ModifyNetworkInterfaceAttributeCommand(input), o));
  }

  /**
   * Puts the instance's interfaces in `groupsFor(interface)`. One interface: ModifyInstanceAttribute
   * Groups (it acts on the primary interface). Several: EC2 requires ModifyNetworkInterfaceAttribute per
   * interface, since each may be in different groups.
   */
  async function replaceGroups(ctx: DriverContext, calls: ActionCall[], ec2: EC2Client, instanceId: string, interfaceIds: string[], groupsFor: (id: string) => string[]): Promise<void> {
    if (interfaceIds.length === 1) {
      const input = { InstanceId: instanceId, Groups: groupsFor(interfaceIds[0]!) };
      await send(ctx, calls, 'ModifyInstanceAttribute', input, (o) => ec2.send(new ModifyInstanceAttributeCommand(input), o));
      return;
    }
    for (const id of interfaceIds) await setInterfaceGroups(ctx, calls, ec2, id, groupsFor(id));
  }

  /** The groups each interface is in: per interface, or the instance's own list when it has a single one. */
  function currentGroups(instance: Instance): Record<string, string[]> {
    if (instance.NetworkInterfaces.length === 1 && instance.SecurityGroups.length) {
      return { [instance.NetworkInterfaces[0]!.NetworkInterfaceId]: instance.SecurityGroups.map((g) => g.GroupId) };
    }
    return Object.fromEntries(instance.NetworkInterfaces.map((e) => [e.NetworkInterfaceId, e.Groups.map((g) => g.GroupId)]));
  }

  function regionOf(params: IsolateEndpointParams): string {
    return params.region ?? settings.region;
  }

  return {
    type,

    parse(params: unknown): IsolateEndpointParams {
      return parseParams(isolateEndpointParamsSchema, params, type);
    },

    dryRun(params: IsolateEndpointParams): ActionCall[] {
      const region = regionOf(params);
      const acl = params.network_acl ?? settings.network_acl;
      const snapshot = params.snapshot_volumes ?? settings.snapshot_volumes;
      const calls: ActionCall[] = [
        { description: `EC2 DescribeInstances ${params.instance_id} (${region}); refuse if tagged ${PROTECTED_TAG}=true; record groups per interface, tags` },
        { description: 'EC2 DescribeInstanceAttribute disableApiTermination (recorded)' },
        { description: 'EC2 ModifyInstanceAttribute DisableApiTermination=true' },
      ];
      if (snapshot) calls.push({ description: 'EC2 CreateSnapshot for each EBS volume (kept as evidence on release)' });
      calls.push(
        {
          description: `EC2 DescribeSecurityGroups/CreateSecurityGroup ${settings.isolation_group_name} in the instance's VPC: no ingress, egress only to ${settings.forensics_cidrs.join(', ') || '(nothing)'}`,
        },
        { description: 'EC2 ModifyInstanceAttribute Groups=[isolation group] (one interface) or ModifyNetworkInterfaceAttribute per interface (several)' },
        { description: `EC2 CreateTags ${QUARANTINE_TAGS.quarantined}=true ${QUARANTINE_TAGS.alertId}=${params.alert_id} ${QUARANTINE_TAGS.at}=<now>` },
      );
      if (acl) calls.push({ description: "EC2 ReplaceNetworkAclAssociation: each interface's subnet to a deny-all network ACL (affects the whole subnet)" });
      return calls;
    },

    async apply(ctx: DriverContext, params: IsolateEndpointParams): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const region = regionOf(params);
      const ec2 = client(region);
      const useAcl = params.network_acl ?? settings.network_acl;
      const record: IsolationRecord = {
        instance_id: params.instance_id,
        region,
        alert_id: params.alert_id,
        groups_by_interface: {},
        tags: [],
        added_tag_keys: [],
        snapshots: [],
        network_acls: [],
        completed: [],
        notes: [TRACKED_CONNECTIONS_NOTE],
      };
      let instance: Instance;
      try {
        instance = await describeInstance(ctx, calls, ec2, params.instance_id);
      } catch (err) {
        return { ok: false, calls, summary: `EC2: cannot read ${params.instance_id}`, error: errorText(err) };
      }
      // Defence in depth: the engine's guardrails check protected targets first; the driver refuses too.
      if (isTrue(instance.Tags, PROTECTED_TAG)) {
        return { ok: false, calls, summary: `EC2: ${params.instance_id} is protected (${PROTECTED_TAG}=true): refused, nothing changed`, error: 'protected instance' };
      }
      // An instance holding a protected address (an Elasticsearch node, Nyx itself) is never isolated.
      for (const address of instanceAddresses(instance)) {
        const refused = guardrailRefusal(ctx, { kind: 'ip', value: address }, calls);
        if (refused) return { ...refused, summary: `EC2: ${params.instance_id} ${refused.summary}` };
      }
      if (isTrue(instance.Tags, QUARANTINE_TAGS.quarantined)) {
        const by = instance.Tags.find((t) => t.Key === QUARANTINE_TAGS.alertId)?.Value ?? 'unknown';
        return {
          ok: true,
          calls,
          undo: { ...record, already_isolated: true, notes: [`already quarantined for alert ${by}: that isolation's record is the one that releases it`] },
          summary: `EC2: ${params.instance_id} already quarantined (alert ${by}); nothing changed`,
        };
      }
      if (!instance.NetworkInterfaces.length) return { ok: false, calls, summary: `EC2: ${params.instance_id} has no network interface to isolate`, error: 'no network interfaces' };
      const vpcId = instance.VpcId ?? instance.NetworkInterfaces[0]?.VpcId;
      if (!vpcId) return { ok: false, calls, summary: `EC2: ${params.instance_id} is not in a VPC`, error: 'no VPC' };

      record.groups_by_interface = currentGroups(instance);
      record.tags = instance.Tags;
      try {
        record.termination_protection_was = await terminationProtection(ctx, calls, ec2, params.instance_id);
        if (!record.termination_protection_was) await setTerminationProtection(ctx, calls, ec2, params.instance_id, true);
        record.completed.push('termination_protection');

        if (params.snapshot_volumes ?? settings.snapshot_volumes) {
          record.snapshots = await snapshotVolumes(ctx, calls, ec2, instance, params.alert_id);
          record.completed.push('snapshots');
        }

        record.isolation_group_id = await ensureIsolationGroup(ctx, calls, ec2, vpcId, params.alert_id);
        // Tag first: if a later step fails, the instance already says it is being quarantined and why.
        const quarantineTags = [
          { Key: QUARANTINE_TAGS.quarantined, Value: 'true' },
          { Key: QUARANTINE_TAGS.alertId, Value: params.alert_id },
          { Key: QUARANTINE_TAGS.at, Value: new Date().toISOString() },
        ];
        record.added_tag_keys = quarantineTags.map((t) => t.Key);
        const tagInput = { Resources: [params.instance_id], Tags: quarantineTags };
        await send(ctx, calls, 'CreateTags', tagInput, (o) => ec2.send(new CreateTagsCommand(tagInput), o));
        record.completed.push('tags');

        const isolationGroupId = record.isolation_group_id;
        await replaceGroups(ctx, calls, ec2, params.instance_id, Object.keys(record.groups_by_interface), () => [isolationGroupId]);
        record.completed.push('security_groups');

        if (useAcl) {
          const denyAcl = await ensureDenyAllAcl(ctx, calls, ec2, vpcId);
          const subnets = [...new Set(instance.NetworkInterfaces.map((e) => e.SubnetId).filter((s): s is string => !!s))];
          for (const subnetId of subnets) {
            const current = await subnetAclAssociation(ctx, calls, ec2, subnetId);
            if (current.aclId !== denyAcl) {
              const input = { AssociationId: current.associationId, NetworkAclId: denyAcl };
              await send(ctx, calls, 'ReplaceNetworkAclAssociation', input, (o) => ec2.send(new ReplaceNetworkAclAssociationCommand(input), o));
              record.network_acls.push({ subnet_id: subnetId, original_acl_id: current.aclId, isolation_acl_id: denyAcl });
            }
          }
          record.completed.push('network_acl');
          record.notes.push(`network ACL step: subnets ${subnets.join(', ')} now deny all traffic for every instance in them`);
        }
      } catch (err) {
        return { ok: false, calls, undo: record, summary: `EC2: isolation of ${params.instance_id} stopped after ${record.completed.join(', ') || 'no step'}`, error: errorText(err) };
      }
      return {
        ok: true,
        calls,
        undo: record,
        summary:
          `EC2: ${params.instance_id} isolated in ${record.isolation_group_id} (${Object.keys(record.groups_by_interface).length} interface(s)), ` +
          `${record.snapshots.length} snapshot(s), termination protection on${record.network_acls.length ? `, deny-all ACL on ${record.network_acls.length} subnet(s)` : ''}. ` +
          (useAcl ? '' : 'Note: tracked connections are not cut by a security-group change.'),
      };
    },

    async undo(ctx: DriverContext, _params: IsolateEndpointParams, undoData: Record<string, unknown>): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const record = parseUndo(undoSchema, undoData, type);
      if (record.already_isolated) return { ok: true, calls, summary: `EC2: nothing to release for this action (${record.instance_id} was isolated by an earlier one)` };
      const ec2 = client(record.region);
      try {
        // Network ACLs first: the subnet is back before the instance's own groups return.
        for (const acl of record.network_acls) {
          const current = await subnetAclAssociation(ctx, calls, ec2, acl.subnet_id);
          if (current.aclId !== acl.original_acl_id) {
            const input = { AssociationId: current.associationId, NetworkAclId: acl.original_acl_id };
            await send(ctx, calls, 'ReplaceNetworkAclAssociation', input, (o) => ec2.send(new ReplaceNetworkAclAssociationCommand(input), o));
          }
        }
        if (record.completed.includes('security_groups') || record.completed.includes('tags')) {
          const interfaces = Object.keys(record.groups_by_interface).filter((id) => record.groups_by_interface[id]?.length);
          await replaceGroups(ctx, calls, ec2, record.instance_id, interfaces, (id) => record.groups_by_interface[id] ?? []);
        }
        // Tags: remove the keys Nyx added, then put back any recorded value one of them replaced.
        const recordedKeys = new Map(record.tags.map((t) => [t.Key, t.Value]));
        const toDelete = record.added_tag_keys.filter((k) => !recordedKeys.has(k));
        const toRestore = record.added_tag_keys.filter((k) => recordedKeys.has(k)).map((k) => ({ Key: k, Value: recordedKeys.get(k) ?? '' }));
        if (toDelete.length) {
          const input = { Resources: [record.instance_id], Tags: toDelete.map((Key) => ({ Key })) };
          await send(ctx, calls, 'DeleteTags', input, (o) => ec2.send(new DeleteTagsCommand(input), o));
        }
        if (toRestore.length) {
          const input = { Resources: [record.instance_id], Tags: toRestore };
          await send(ctx, calls, 'CreateTags', input, (o) => ec2.send(new CreateTagsCommand(input), o));
        }
        if (record.completed.includes('termination_protection') && record.termination_protection_was === false) {
          await setTerminationProtection(ctx, calls, ec2, record.instance_id, false);
        }
      } catch (err) {
        return { ok: false, calls, summary: `EC2: release of ${record.instance_id} incomplete`, error: errorText(err) };
      }
      return {
        ok: true,
        calls,
        summary:
          `EC2: ${record.instance_id} released: groups restored on ${Object.keys(record.groups_by_interface).length} interface(s), tags and termination protection as recorded` +
          `${record.network_acls.length ? `, ${record.network_acls.length} subnet ACL(s) restored` : ''}; snapshots ${record.snapshots.map((s) => s.snapshot_id).join(', ') || '(none)'} kept as evidence`,
      };
    },

    async status(ctx: DriverContext, params: IsolateEndpointParams, undoData: Record<string, unknown>): Promise<{ active: boolean; detail: string }> {
      const record = parseUndo(undoSchema, undoData, type);
      const instance = await describeInstance(ctx, [], client(record.region), record.instance_id ?? params.instance_id);
      const quarantined = isTrue(instance.Tags, QUARANTINE_TAGS.quarantined);
      const groups = currentGroups(instance);
      const isolated = !!record.isolation_group_id && Object.values(groups).every((g) => g.length === 1 && g[0] === record.isolation_group_id);
      return {
        active: quarantined && (isolated || !!record.already_isolated),
        detail: `${record.instance_id}: ${quarantined ? 'tagged quarantined' : 'not tagged quarantined'}, groups ${Object.entries(groups).map(([id, g]) => `${id}=[${g.join(',')}]`).join(' ')}`,
      };
    },
  };
}

/** Registers isolate_endpoint from response.drivers.ec2 (call from registerBuiltinDrivers). */
export function registerEc2IsolationDriver(settings: Ec2Settings, env: NodeJS.ProcessEnv = process.env): void {
  registerActionDriver(createEc2IsolationDriver(settings, { env }));
}
