import { z } from 'zod';
import { fileURLToPath } from 'node:url';
// `response:` (nyx respond: playbooks, guardrails, drivers) is defined next to the code that reads it.
import { responseSchema } from '../response/config.ts';
// `alerts:` and `watch:` (detection alerts, stream path, scheduled watcher) likewise.
import { alertsConfigSchema } from '../alerts/config.ts';
import { watchConfigSchema } from '../detection/watch/config.ts';
// `risk:` (nyx risk: entity risk window, decay, domains) likewise.
import { riskConfigSchema } from '../detection/entity-risk/config.ts';

/** An http(s) URL with a host: what `elasticsearch.url` (or each entry of its list) must be. */
function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** The data-stream sources Nyx installs a data model for (logs-<source>-<namespace>). */
export const SOURCES = ['syslog', 'netflow', 'endpoint', 'filebeat', 'packetbeat', 'winlogbeat', 'cowrie'] as const;
export type Source = (typeof SOURCES)[number];

const sourceSettingsSchema = z
  .object({
    retention_days: z.number().int().positive().max(3650).default(30),
    shards: z.number().int().positive().max(64).default(1),
    /**
     * Replica copies of each shard. Unset: `auto_expand_replicas: 0-1`, one replica as soon as the cluster has a
     * second node (so losing a node does not stop writes) and none on a single node (which stays green).
     */
    replicas: z.number().int().min(0).max(8).optional(),
  })
  .strict();

const sourcesSchema = z.partialRecord(z.enum(SOURCES), sourceSettingsSchema.partial()).default({});

/** `nyx serve`: the ingest API. Defaults suit one small site; every limit is per replica. */
const serveSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8220),
    /** Request body limit in bytes, applied to the bytes received and again after gunzip. */
    body_limit_bytes: z.number().int().positive().default(10 * 1024 * 1024),
    max_events_per_request: z.number().int().positive().default(10_000),
    /** One event's nesting depth (objects and arrays); deeper events are rejected alone, with the path. */
    max_event_depth: z.number().int().min(2).max(1000).default(64),
    /** One event's distinct fields (array positions folded); a wider event is rejected alone, with the path. */
    max_event_fields: z.number().int().positive().max(100_000).default(1_000),
    /** Per-agent token bucket over requests: sustained rate and burst. */
    rate_limit: z
      .object({
        requests_per_second: z.number().positive().default(20),
        burst: z.number().int().positive().default(40),
        /**
         * The same over all of one tenant's agents, so enrolling more agents does not multiply what a tenant may
         * send. Unset: ten agents' worth (10 × requests_per_second and 10 × burst).
         */
        tenant_requests_per_second: z.number().positive().optional(),
        tenant_burst: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    /** Events waiting for Elasticsearch across all requests; beyond it the API answers 503. */
    max_queued_events: z.number().int().positive().default(100_000),
    /** How long a verified agent key is trusted before it is read again (revocation delay across replicas). */
    auth_cache_ms: z.number().int().min(0).default(5_000),
    /**
     * Failed agent-key, enrollment and operator-token attempts per client address: `failures` within
     * `per_seconds` (a token bucket), then 429 + Retry-After. Keys already verified keep working.
     */
    auth_rate_limit: z
      .object({
        failures: z.number().int().positive().default(10),
        per_seconds: z.number().int().positive().default(60),
        /** An agent-key or token id Elasticsearch does not know is answered from memory this long. */
        unknown_key_cache_seconds: z.number().int().positive().default(60),
        /** Addresses and ids tracked at most (least recently used dropped first): memory stays bounded. */
        max_tracked: z.number().int().positive().max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
    /**
     * Proxies (addresses or CIDRs) whose X-Forwarded-For names the client, for per-address limits behind a
     * load balancer; empty: the peer address is the client.
     */
    trust_proxy: z.preprocess(
      // From env (NYX__SERVE__TRUST_PROXY) a comma-separated list.
      (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
      z.array(z.string().min(1)).default([]),
    ),
    /** An agent not seen for this long is listed as stale. */
    agent_stale_after_seconds: z.number().int().positive().default(600),
    retry_after_seconds: z.number().int().positive().default(5),
    /**
     * How long a write waits for a primary shard that is unavailable (e.g. its node just failed) before the
     * API answers 503 + Retry-After: well under an agent's request timeout (30 s).
     */
    write_wait_seconds: z.number().int().positive().max(60).default(5),
  })
  .strict()
  .prefault({});

/** Indicator enrichment (in stream, in the ioc_enrichment pipeline) and retro-hunts over past events. */
const enrichmentSchema = z
  .object({
    /** Match every event the ingest API takes against the active indicator set in memory. */
    in_stream: z.boolean().default(true),
    /** How often the in-memory set asks the indicator store for changes since its cursor. */
    refresh_seconds: z.number().int().positive().default(60),
    /** A match whose fused confidence score (0-100) is at least this raises event.severity. */
    high_confidence: z.number().min(0).max(100).default(75),
    /** The event.severity a high-confidence match raises an event to (never lowers it). */
    raised_severity: z.number().int().min(0).max(100).default(73),
    /** Values that never flag, however many feeds list them. */
    warning_list: z
      .object({
        private_ranges: z.boolean().default(true),
        /** Our own public addresses or CIDRs. */
        own_addresses: z.array(z.string().min(1)).default([]),
        /** IPs, CIDRs, domains (and their subdomains), URLs or hashes. */
        allow: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    /** The nyx-ioc-enrichment pipeline's params: at most this many indicators, highest confidence kept. */
    pipeline_max_indicators: z.number().int().positive().max(1_000_000).default(20_000),
    retro_hunt: z
      .object({
        enabled: z.boolean().default(true),
        days: z.number().int().positive().max(3650).default(30),
        /** Values per terms clause (Elasticsearch's index.max_terms_count defaults to 65,536). */
        chunk_size: z.number().int().positive().max(65_536).default(10_000),
        page_size: z.number().int().positive().max(10_000).default(5_000),
        indices: z.string().min(1).default('logs-*'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/** Vulnerability exposure: installed software matched to CVEs. */
const vulnsSchema = z
  .object({
    /** Inventory older than this is not current software any more (a host re-reports daily by default). */
    inventory_max_age_days: z.number().int().positive().default(7),
    /** How far back listening sockets count as exposure. */
    exposure_days: z.number().int().positive().default(7),
  })
  .strict()
  .prefault({});

/** The feed definitions that ship with Nyx (the repository's feeds/), wherever nyx runs from. */
const SHIPPED_FEEDS_DIR = fileURLToPath(new URL('../../feeds', import.meta.url));

/** Threat-intel feeds (`nyx feeds …`): feed definitions are YAML data under feeds_dir, validated at load. */
const intelSchema = z
  .object({
    /** Directory of feed definitions (one feed per *.yml) and warning lists (warninglists/*.yml). */
    feeds_dir: z.string().min(1).default(SHIPPED_FEEDS_DIR),
    /** tlp:red indicators are never imported unless this is set (a feed may also opt in). */
    allow_tlp_red: z.boolean().default(false),
    /** Our own addresses/CIDRs and domains: never flagged (added to the warning lists). */
    own_addresses: z.array(z.string().min(1)).default([]),
    own_domains: z.array(z.string().min(1)).default([]),
    /**
     * The widest indicator range a feed may publish (a feed sets max_prefix or allow_broad_ranges to differ): a range
     * such as 0.0.0.0/0 would make every event match. Broader ranges are rejected, counted, with the reason.
     */
    max_prefix: z
      .object({ ipv4: z.number().int().min(0).max(32).default(16), ipv6: z.number().int().min(0).max(128).default(48) })
      .strict()
      .prefault({}),
    /** How long one replica holds a feed's lease before another may take it (renewed while syncing). */
    lease_ttl_ms: z.number().int().positive().default(120_000),
    /** How often every feed's expired indicators leave the active set, even for feeds no longer syncing. */
    expire_schedule: z.string().min(1).default('*/15 * * * *'),
    /**
     * Sightings pushed back to MISP (POST /sightings/add) when one of its indicators matches our data: each
     * first-time retro-hunt hit and (in_stream) each event stored with a match. Only when a misp feed is
     * enabled and its key is set; bounded queue, bounded rate; a failure is counted, never costs an event.
     */
    sightings: z
      .object({
        enabled: z.boolean().default(true),
        /** The misp feed to push to (default: the first enabled one). */
        feed: z.string().min(1).optional(),
        in_stream: z.boolean().default(true),
        max_per_minute: z.number().int().positive().max(60_000).default(120),
        queue_max: z.number().int().positive().max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/** nyx.yml, after env overrides. Secrets are never part of this shape: they come from env or *_file. */
export const configSchema = z
  .object({
    elasticsearch: z
      .object({
        /** One URL, or several nodes of one cluster (a list; in ELASTICSEARCH_URL, comma-separated). */
        url: z
          .union([z.string(), z.array(z.string()).min(1, 'expected a URL or a list of node URLs').max(32, 'at most 32 node URLs')], {
            error: 'expected a URL or a list of node URLs',
          })
          .superRefine((value, ctx) => {
            const list = typeof value === 'string' ? [value] : value;
            list.forEach((url, i) => {
              if (!isHttpUrl(url)) ctx.addIssue({ code: 'custom', message: 'expected a URL such as https://es.example.org:9200', path: typeof value === 'string' ? [] : [i] });
            });
          })
          .transform((value) => (typeof value === 'string' ? [value] : value))
          .optional(),
        /**
         * Learn the cluster's other nodes from it (at start and after a node fails). Default: on when several
         * URLs are given; off for one URL, which may be a proxy or load balancer whose nodes are not reachable.
         */
        sniff: z.boolean().optional(),
        cloud_id: z.string().min(1).optional(),
        username: z.string().min(1).optional(),
        ca_file: z.string().min(1).optional(),
        ca_fingerprint: z
          .string()
          .regex(/^([0-9A-Fa-f]{2}:?){32}$/, 'expected a SHA-256 fingerprint (64 hex digits, colons allowed)')
          .optional(),
        request_timeout_ms: z.number().int().positive().default(30_000),
        connect_wait_ms: z.number().int().positive().default(15_000),
      })
      .strict()
      // `url` stays the first (or only) node for messages and checks; `urls` is every node the client may use.
      .transform(({ url, ...rest }) => ({ ...rest, url: url?.[0], urls: url }))
      .default({ request_timeout_ms: 30_000, connect_wait_ms: 15_000, url: undefined, urls: undefined }),
    local_node: z
      .object({
        version: z.string().regex(/^9\.\d+\.\d+$/, 'expected an Elasticsearch 9.x version such as 9.2.8').default('9.2.8'),
        heap: z.string().regex(/^\d+[mg]$/, 'expected a heap size such as 512m or 1g').default('1g'),
        home: z.string().min(1).optional(),
      })
      .strict()
      .default({ version: '9.2.8', heap: '1g' }),
    namespace: z
      .string()
      .regex(/^[a-z0-9_]{1,100}$/, 'expected lowercase letters, digits and _ (a data-stream namespace)')
      .default('default'),
    sources: sourcesSchema,
    ingest: z
      .object({
        timezone: z.string().min(1).default('UTC'),
        keep_original: z.boolean().default(true),
      })
      .strict()
      .default({ timezone: 'UTC', keep_original: true }),
    serve: serveSchema,
    intel: intelSchema,
    response: responseSchema,
    enrichment: enrichmentSchema,
    vulns: vulnsSchema,
    alerts: alertsConfigSchema,
    watch: watchConfigSchema,
    risk: riskConfigSchema,
    logging: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('warn') })
      .strict()
      .default({ level: 'warn' }),
  })
  .strict();

export type NyxConfig = z.infer<typeof configSchema>;

export interface SourceSettings {
  retention_days: number;
  shards: number;
  /** A fixed count, or `auto` for Elasticsearch's auto_expand_replicas 0-1. */
  replicas: number | 'auto';
}

export function sourceSettings(config: NyxConfig, source: Source): SourceSettings {
  const given = config.sources[source] ?? {};
  return { retention_days: given.retention_days ?? 30, shards: given.shards ?? 1, replicas: given.replicas ?? 'auto' };
}

/** Secrets, read from env (or the file an env var names), never from YAML. */
export interface Secrets {
  elasticsearchApiKey?: string;
  elasticsearchPassword?: string;
  /** Authenticates operators to the ingest API's agent downloads (NYX_OPERATOR_TOKEN). */
  operatorToken?: string;
}
