import { z } from 'zod';
import { RESPONSE_LEVELS } from './levels.ts';
import { responseDriversSchema } from './drivers/settings.ts';

/**
 * The `response:` section of nyx.yml. Secrets (TheHive/Cortex API keys, webhook HMAC keys) are never here:
 * fields ending in `_env` name the environment variable that holds them.
 */
const levelSchema = z.enum(RESPONSE_LEVELS);
const envNameSchema = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'expected an environment variable name such as NYX_THEHIVE_API_KEY');

const rateLimitSchema = z
  .object({ max: z.number().int().positive(), window_seconds: z.number().int().positive() })
  .strict();

const webhookTargetSchema = z
  .object({
    url: z.url(),
    /** Env var holding the HMAC-SHA256 key; the body is signed in the X-Nyx-Signature header. */
    hmac_key_env: envNameSchema.optional(),
    timeout_ms: z.number().int().positive().default(5_000),
  })
  .strict();

export const guardrailsSchema = z
  .object({
    /** Never blocked/isolated: own ranges, gateways, DNS, the Elasticsearch/Kibana/Nyx hosts. IPs or CIDRs, v4 or v6. */
    protected_ips: z.array(z.string().min(1)).default([]),
    /**
     * Hostnames or URLs (Kibana, a jump host…) whose addresses are protected, on top of the hosts Nyx finds in its own
     * config (Elasticsearch, MISP, TheHive, Cortex, firewalls, the Nyx API). Resolved (A and AAAA) at first use and
     * every own_hosts_refresh_seconds; while one never resolved, IP blocks are refused (fail closed).
     */
    protected_hosts: z.array(z.string().min(1)).default([]),
    own_hosts_refresh_seconds: z.number().int().positive().default(300),
    protected_instance_ids: z.array(z.string().min(1)).default([]),
    /** Instance tags (key=value, or key for any value) that mark an instance as never isolated. */
    protected_instance_tags: z.array(z.string().min(1)).default([]),
    /**
     * Accounts never disabled (break-glass admins, service accounts), matched in every spelling (DOMAIN\x, x@domain,
     * case, NFKC, lookalikes) or by SID. root/uid 0, Administrator, SYSTEM and well-known SIDs are always protected.
     */
    critical_accounts: z.array(z.string().min(1)).default(['root', 'administrator', 'admin']),
    /** Per action type, e.g. { block_ip: { max: 20, window_seconds: 60 } }. */
    rate_limits: z.record(z.string(), rateLimitSchema).default({}),
    /** Per target (one IP, one user…), across all action types. */
    per_target: rateLimitSchema.default({ max: 3, window_seconds: 3600 }),
    circuit_breaker: z
      .object({ failures: z.number().int().positive().default(3), cooldown_seconds: z.number().int().positive().default(600) })
      .strict()
      .default({ failures: 3, cooldown_seconds: 600 }),
  })
  .strict();

export const responseSchema = z
  .object({
    /** Where playbooks are read from (default: the shipped playbooks/ folder). */
    playbooks_dir: z.string().min(1).optional(),
    /** The highest level that runs without a person approving it. */
    unattended_level: levelSchema.default('constrain'),
    /** How long an approval request waits before the action is dropped (and audited). */
    approval_ttl_seconds: z.number().int().positive().default(3600),
    /** Raise the least level an action type runs at (see levels.ts); never lowers a built-in floor. */
    level_floors: z.record(z.string(), levelSchema).default({}),
    poll_interval_ms: z.number().int().positive().default(5_000),
    /** Alerts are re-read this far behind the checkpoint: late writes are not missed, action ids make it harmless. */
    lookback_seconds: z.number().int().min(0).default(300),
    /** Alerts read per poll. */
    batch_size: z.number().int().positive().max(10_000).default(500),
    /** How long one action may hold its lease (a crashed replica's action is retried after this). */
    lease_ms: z.number().int().positive().default(120_000),
    guardrails: guardrailsSchema.prefault({}),
    thehive: z
      .object({
        url: z.url(),
        api_key_env: envNameSchema.default('NYX_THEHIVE_API_KEY'),
        organisation: z.string().min(1).optional(),
        source: z.string().min(1).default('nyx'),
        type: z.string().min(1).default('nyx-alert'),
        timeout_ms: z.number().int().positive().default(10_000),
      })
      .strict()
      .optional(),
    cortex: z
      .object({
        url: z.url(),
        api_key_env: envNameSchema.default('NYX_CORTEX_API_KEY'),
        /** Analyzer ids to run per observable data type, e.g. { ip: [AbuseIPDB_1_0], hash: [VirusTotal_GetReport_3_1] }. */
        analyzers: z.record(z.string(), z.array(z.string().min(1))).default({}),
        poll_interval_ms: z.number().int().positive().default(2_000),
        max_wait_ms: z.number().int().positive().default(120_000),
        timeout_ms: z.number().int().positive().default(10_000),
      })
      .strict()
      .optional(),
    /** Named webhook targets for `webhook` steps, the sighting hook and the directory-service account hook. */
    webhooks: z.record(z.string().regex(/^[a-z0-9_-]+$/), webhookTargetSchema).default({}),
    sighting: z.object({ webhook: z.string().min(1) }).strict().optional(),
    disable_account: z
      .object({
        /** argv prefix run with the user name appended (execFile, no shell), e.g. [sudo, -n, usermod, -L]. */
        lock_command: z.array(z.string().min(1)).min(1).default(['usermod', '-L']),
        unlock_command: z.array(z.string().min(1)).min(1).default(['usermod', '-U']),
        /** Checked with the user name appended: exit 0 means locked (e.g. a wrapper over `passwd -S`). */
        status_command: z.array(z.string().min(1)).min(1).optional(),
        timeout_ms: z.number().int().positive().default(10_000),
        /** Webhook target (under response.webhooks) for directory services (AD, LDAP, IdP). */
        directory_webhook: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** Firewall (block_ip) and EC2 isolation backends: defined by those drivers (drivers/settings.ts). */
    drivers: responseDriversSchema,
  })
  .strict()
  .prefault({});

export type ResponseConfig = z.infer<typeof responseSchema>;
export type WebhookTarget = z.infer<typeof webhookTargetSchema>;
