import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import cron from 'node-cron';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import { TLP_LEVELS } from '../store/index.ts';
import { refuseReservedKeys } from '../../reserved-keys.ts';

export const FEED_KINDS = [
  'misp',
  'misp_feed',
  'nvd',
  'nvd_files',
  'cisa_kev',
  'rss',
  'urlhaus',
  'threatfox',
  'feodo',
  'abuseipdb',
  'otx',
  'plain',
  'csv',
  'json',
  'stix',
] as const;
export type FeedKind = (typeof FEED_KINDS)[number];

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name such as NYX_MISP_KEY');

/** Where a field comes from in a CSV row (column name or 0-based index) or a JSON item (dotted path). */
const fieldRef = z.union([z.string().min(1), z.number().int().min(0)]);

const mappingSchema = z
  .object({
    value: fieldRef,
    /** A fixed indicator type, or `auto` (detect from the value). */
    type: z.string().min(1).default('auto'),
    /** A field holding the type (MISP/STIX/ThreatFox vocabulary or ours); wins over `type` when present. */
    type_field: fieldRef.optional(),
    first_seen: fieldRef.optional(),
    last_seen: fieldRef.optional(),
    confidence: fieldRef.optional(),
    description: fieldRef.optional(),
    reference: fieldRef.optional(),
    tags: fieldRef.optional(),
    id: fieldRef.optional(),
    /** A field naming the provider of each row (analyst imports: `source`). */
    provider: fieldRef.optional(),
    tlp: fieldRef.optional(),
  })
  .strict();
export type FeedMapping = z.infer<typeof mappingSchema>;

const cronExpr = z.string().refine((s) => cron.validate(s), 'expected a cron expression such as "0 * * * *"');

export const feedDefinitionSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_]{1,60}$/, 'expected lowercase letters, digits and _ (it becomes part of an index name)'),
    kind: z.enum(FEED_KINDS),
    description: z.string().optional(),
    /** http(s) URL, or file:// / a path for file-based kinds (plain, csv, json, stix, nvd_files, misp_feed, cisa_kev, rss). */
    url: z.string().min(1),
    /** Extra URLs for kinds that read several files (nvd_files: yearly + modified feeds). */
    urls: z.array(z.string().min(1)).optional(),
    enabled: z.boolean().default(true),
    schedule: cronExpr.default('0 * * * *'),
    /** The secret is read from this env var at run time; it never appears in YAML, logs or errors. */
    auth: z
      .object({ env: envName, header: z.string().regex(/^[A-Za-z0-9-]+$/).optional(), scheme: z.string().optional(), optional: z.boolean().default(false) })
      .strict()
      .optional(),
    provider: z.string().min(1).optional(),
    confidence: z.number().min(0).max(100).default(50),
    tlp: z.enum(TLP_LEVELS).default('CLEAR'),
    allow_tlp_red: z.boolean().optional(),
    /** Accept indicator ranges of any size (0.0.0.0/0 included): only for a feed you trust to publish sane ranges. */
    allow_broad_ranges: z.boolean().default(false),
    /** The widest range this feed may publish, per family (default intel.max_prefix: /16 and /48). */
    max_prefix: z
      .object({ ipv4: z.number().int().min(0).max(32).optional(), ipv6: z.number().int().min(0).max(128).optional() })
      .strict()
      .optional(),
    expiry_days: z.number().positive().max(3650).default(30),
    decay_half_life_days: z.number().positive().optional(),
    mapping: mappingSchema.optional(),
    csv: z.object({ delimiter: z.string().length(1).default(','), header: z.boolean().default(true), comment: z.string().max(2).default('#') }).strict().optional(),
    /** JSON: dotted path to the items array (empty: the document is the array). */
    json: z.object({ items: z.string().default('') }).strict().optional(),
    limits: z
      .object({
        max_bytes: z.number().int().positive().default(100 * 1024 * 1024),
        timeout_ms: z.number().int().positive().default(60_000),
        /** Rows beyond this are not read (bounded work per run). */
        max_rows: z.number().int().positive().default(5_000_000),
        /** A 429 with a Retry-After up to this many seconds is waited out (a few times); longer fails the run. */
        max_retry_after_s: z.number().min(0).default(60),
        retries: z.number().int().min(0).max(10).default(2),
      })
      .strict()
      .prefault({}),
    misp: z
      .object({
        page_limit: z.number().int().min(1).max(5000).default(1000),
        to_ids_only: z.boolean().default(true),
        include_deleted: z.boolean().default(true),
        /** Use MISP's decay score as confidence and drop decayed attributes. */
        decay: z.boolean().default(true),
        /** First run: attributes changed in the last N days. */
        initial_days: z.number().int().positive().default(30),
        max_pages: z.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({}),
    nvd: z
      .object({
        results_per_page: z.number().int().min(1).max(2000).default(2000),
        window_days: z.number().int().min(1).max(120).default(120),
        /** Published limits: 5 requests per 30 s without a key, 50 with one. */
        requests_per_window: z.number().int().positive().optional(),
        window_ms: z.number().int().positive().default(30_000),
        initial_days: z.number().int().positive().default(120),
      })
      .strict()
      .prefault({}),
    otx: z.object({ initial_days: z.number().int().positive().default(30), limit: z.number().int().min(1).max(500).default(50) }).strict().prefault({}),
    abuseipdb: z.object({ confidence_minimum: z.number().int().min(25).max(100).default(90), limit: z.number().int().positive().default(10_000) }).strict().prefault({}),
    batch_size: z.number().int().min(1).max(10_000).default(1000),
  })
  .strict();
export type FeedDefinition = z.infer<typeof feedDefinitionSchema>;

/** Reads every feeds/*.yml (one feed per file, or a `feeds:` list) and validates it; errors name file and key. */
export function loadFeedDefinitions(dir: string): FeedDefinition[] {
  if (!existsSync(dir)) return [];
  const feeds: FeedDefinition[] = [];
  const seen = new Map<string, string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml')).sort()) {
    const path = join(dir, file);
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new NyxError(`${path}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    refuseReservedKeys(raw, path);
    const entries = raw && typeof raw === 'object' && 'feeds' in raw ? (raw as { feeds: unknown }).feeds : [raw];
    if (!Array.isArray(entries)) throw new NyxError(`${path}: feeds: expected a list`);
    entries.forEach((entry, i) => {
      const parsed = feedDefinitionSchema.safeParse(entry);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const at = issue?.path.map(String).join('.') || '(top level)';
        throw new NyxError(`${path}${entries.length > 1 ? ` feeds[${i}]` : ''}: ${at}: ${issue?.message ?? 'invalid'}`);
      }
      const other = seen.get(parsed.data.name);
      if (other) throw new NyxError(`${path}: feed name ${parsed.data.name} is already used in ${other}`);
      seen.set(parsed.data.name, path);
      feeds.push(parsed.data);
    });
  }
  return feeds;
}

/** The kinds whose rows are indicators (the rest write CVEs or advisories). */
export function isIndicatorKind(kind: FeedKind): boolean {
  return !['nvd', 'nvd_files', 'cisa_kev', 'rss'].includes(kind);
}

export const DEFAULT_PROVIDERS: Record<FeedKind, string> = {
  misp: 'MISP',
  misp_feed: 'MISP feed',
  nvd: 'NVD',
  nvd_files: 'NVD',
  cisa_kev: 'CISA KEV',
  rss: 'advisories',
  urlhaus: 'abuse.ch URLhaus',
  threatfox: 'abuse.ch ThreatFox',
  feodo: 'abuse.ch Feodo Tracker',
  abuseipdb: 'AbuseIPDB',
  otx: 'AlienVault OTX',
  plain: 'list',
  csv: 'csv',
  json: 'json',
  stix: 'STIX',
};
