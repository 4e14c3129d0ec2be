import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Settings of the firewall and EC2 response drivers: the `response.drivers` section of nyx.yml.
 * Pure zod (no driver code), so the config schema can include it without loading SDKs.
 * Secrets are never here: OPNSENSE/PAN-OS/webhook secrets and AWS credentials come from env.
 */

const objectName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'expected letters, digits and _ (starting with a letter)');

const cidr = z.string().refine((value) => {
  const [addr, bits, extra] = value.split('/');
  if (!addr || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return false;
  const version = isIP(addr);
  return version !== 0 && Number(bits) <= (version === 4 ? 32 : 128);
}, 'expected a CIDR such as 192.0.2.0/24 or 2001:db8::/64');

const httpUrl = z.url({ protocol: /^https?$/, message: 'expected an http(s) URL' });

export const BLOCK_IP_BACKENDS = ['nftables', 'opnsense', 'panos', 'webhook'] as const;
export type BlockIpBackend = (typeof BLOCK_IP_BACKENDS)[number];

export const nftablesSettingsSchema = z
  .object({
    /** An `inet` table Nyx owns entirely (created on first use). */
    table: objectName.default('nyx'),
    set4: objectName.default('blocklist4'),
    set6: objectName.default('blocklist6'),
    /** Base chains that drop sources in the sets: input protects this host, forward a gateway's networks. */
    hooks: z.array(z.enum(['input', 'forward'])).min(1).default(['input', 'forward']),
    /** Run nft inside this network namespace (`ip netns exec <ns> nft …`), e.g. for tests. */
    netns: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a network namespace name').optional(),
    nft_path: z.string().min(1).default('nft'),
    ip_path: z.string().min(1).default('ip'),
    timeout_ms: z.number().int().positive().default(10_000),
  })
  .strict();

export const opnsenseSettingsSchema = z
  .object({
    /** e.g. https://opnsense.example.org (the API lives under /api). */
    url: httpUrl,
    /** A host-type alias referenced by a block rule on the firewall. */
    alias: z.string().regex(/^[A-Za-z0-9_]{1,31}$/, 'expected an OPNsense alias name (letters, digits, _)').default('nyx_blocklist'),
    /** PEM CA bundle for a firewall with its own certificate authority. */
    ca_file: z.string().min(1).optional(),
    /** Only for lab firewalls with self-signed certificates. */
    insecure_skip_verify: z.boolean().default(false),
    timeout_ms: z.number().int().positive().default(10_000),
  })
  .strict();

export const panosSettingsSchema = z
  .object({
    /** e.g. https://fw.example.org (the XML API lives under /api/). */
    url: httpUrl,
    /** The tag a dynamic address group matches on. */
    tag: z.string().regex(/^[A-Za-z0-9_.-]{1,127}$/, 'expected a PAN-OS tag name').default('nyx-block'),
    vsys: z.string().regex(/^vsys\d{1,3}$/, 'expected a vsys id such as vsys1').optional(),
    ca_file: z.string().min(1).optional(),
    insecure_skip_verify: z.boolean().default(false),
    timeout_ms: z.number().int().positive().default(10_000),
  })
  .strict();

export const webhookFirewallSettingsSchema = z
  .object({
    url: httpUrl,
    /** Carries `sha256=<hex HMAC of the raw body>` with the NYX_FIREWALL_WEBHOOK_SECRET key. */
    signature_header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/).default('X-Nyx-Signature'),
    timeout_ms: z.number().int().positive().default(10_000),
  })
  .strict();

export const ec2SettingsSchema = z
  .object({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-west-1').default('us-east-1'),
    /** A custom EC2 endpoint (VPC endpoint, or a local moto server in tests). */
    endpoint: httpUrl.optional(),
    /** Egress the isolation group still allows: where forensic collectors live. Empty = no egress. */
    forensics_cidrs: z.array(cidr).default([]),
    /** Created per VPC when missing. */
    isolation_group_name: z.string().regex(/^[A-Za-z0-9 ._:/()#,@[\]+=&;{}!$*-]{1,255}$/).default('nyx-isolation'),
    snapshot_volumes: z.boolean().default(true),
    /** Also swap the subnet's network ACL for a deny-all one: cuts tracked connections, but affects the whole subnet. */
    network_acl: z.boolean().default(false),
    timeout_ms: z.number().int().positive().default(30_000),
  })
  .strict();

export const responseDriversSchema = z
  .object({
    block_ip: z
      .object({
        /** Firewalls the generic `block_ip` step applies to (each one; undo reverts each). */
        backends: z.array(z.enum(BLOCK_IP_BACKENDS)).min(1).default(['nftables']),
      })
      .strict()
      .prefault({}),
    nftables: nftablesSettingsSchema.prefault({}),
    opnsense: opnsenseSettingsSchema.optional(),
    panos: panosSettingsSchema.optional(),
    webhook_firewall: webhookFirewallSettingsSchema.optional(),
    ec2: ec2SettingsSchema.prefault({}),
  })
  .strict()
  .prefault({});

export type NftablesSettings = z.infer<typeof nftablesSettingsSchema>;
export type OpnsenseSettings = z.infer<typeof opnsenseSettingsSchema>;
export type PanosSettings = z.infer<typeof panosSettingsSchema>;
export type WebhookFirewallSettings = z.infer<typeof webhookFirewallSettingsSchema>;
export type Ec2Settings = z.infer<typeof ec2SettingsSchema>;
export type ResponseDriversSettings = z.infer<typeof responseDriversSchema>;
