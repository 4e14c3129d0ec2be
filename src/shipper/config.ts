import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { NyxError } from '../errors.ts';
import { formatConfigIssue } from '../config/load.ts';
import { refuseReservedKeys } from '../reserved-keys.ts';

const durationMs = z.number().int().positive();

const fileInputSchema = z
  .object({
    type: z.literal('files'),
    id: z.string().min(1).optional(),
    paths: z.array(z.string().min(1)).min(1),
    /** How a line is sent: `syslog` (raw line) or `cowrie` (a Cowrie JSON record per line). */
    format: z.enum(['syslog', 'cowrie']).default('syslog'),
    /** A new file (no cursor yet) is read from its start, or only what is appended from now on. */
    start_at: z.enum(['beginning', 'end']).default('beginning'),
    poll_ms: durationMs.default(250),
    /** A rotated-away file is closed after this long without growth; its partial last line is then sent. */
    close_inactive_ms: durationMs.default(5_000),
    max_line_bytes: z.number().int().positive().default(1024 * 1024),
  })
  .strict();

const journaldInputSchema = z
  .object({
    type: z.literal('journald'),
    id: z.string().min(1).optional(),
    poll_ms: durationMs.default(2_000),
    units: z.array(z.string().min(1)).default([]),
    /**
     * Read the journal files in this directory (`journalctl --directory`) instead of the system journal:
     * e.g. where systemd-journal-remote stores forwarded journals, or a container's /var/log/journal.
     * Relative to the config file.
     */
    directory: z.string().min(1).optional(),
    /** At most this many entries per poll (`journalctl -n`, counted forward from the cursor). */
    batch: z.number().int().positive().max(10_000).default(5_000),
  })
  .strict();

const telemetryInputSchema = z
  .object({ type: z.literal('telemetry'), id: z.string().min(1).optional(), interval_ms: durationMs.default(10_000) })
  .strict();

const processesInputSchema = z
  .object({ type: z.literal('processes'), id: z.string().min(1).optional(), interval_ms: durationMs.default(10_000) })
  .strict();

const networkInputSchema = z
  .object({ type: z.literal('network'), id: z.string().min(1).optional(), interval_ms: durationMs.default(15_000) })
  .strict();

const softwareInputSchema = z
  .object({ type: z.literal('software'), id: z.string().min(1).optional(), interval_ms: durationMs.default(24 * 3600_000) })
  .strict();

export const WINDOWS_CHANNELS = ['Security', 'System', 'Application', 'Microsoft-Windows-Sysmon/Operational'] as const;

const windowsInputSchema = z
  .object({
    type: z.literal('wineventlog'),
    id: z.string().min(1).optional(),
    channels: z.array(z.string().min(1)).min(1).default([...WINDOWS_CHANNELS]),
    poll_ms: durationMs.default(5_000),
    batch: z.number().int().positive().max(5_000).default(500),
  })
  .strict();

export const inputSchema = z.discriminatedUnion('type', [
  fileInputSchema,
  journaldInputSchema,
  telemetryInputSchema,
  processesInputSchema,
  networkInputSchema,
  softwareInputSchema,
  windowsInputSchema,
]);

/** A URL that carries no credentials: secrets never sit in the YAML, not even inside a URL. */
const credentialFreeUrl = (message: string) =>
  z.url({ message }).refine((u) => {
    const parsed = new URL(u);
    return !parsed.username && !parsed.password;
  }, 'must not carry credentials (user:password@); the API key comes from api_key_env or api_key_file');

/**
 * Direct mode: the shipper validates, routes and normalises events itself (the ingest API's own code)
 * and writes them into `logs-<source>-<namespace>` with an Elasticsearch API key.
 */
const elasticsearchOutputSchema = z
  .object({
    url: credentialFreeUrl('expected the Elasticsearch URL, such as https://es.example.org:9200'),
    /** Name of the environment variable holding the API key (the encoded `id:api_key` form). */
    api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
    /** A file holding the API key (mode 0600). */
    api_key_file: z.string().min(1).optional(),
    /** Refused with a clear reason: secrets never go in the YAML. */
    api_key: z.never({ message: 'secrets never go in the YAML: name an env var (api_key_env) or a file (api_key_file)' }).optional(),
    /** The tenant: events land in logs-<source>-<namespace>. */
    namespace: z.string().regex(/^[a-z0-9_]{1,100}$/, 'expected lowercase letters, digits and _ (a data-stream namespace)'),
    ca_file: z.string().min(1).optional(),
    /** Timezone of log lines that carry none (classic syslog). */
    timezone: z.string().min(1).default('UTC'),
    /**
     * auto: read the cluster's ingest processors once and run here only the source pipelines it cannot
     * run (exactly what `nyx stack` decided when it set the data streams' default pipelines);
     * local: always run them here (for an API key without the `monitor` privilege, on a cluster whose
     * data streams have no default pipeline).
     */
    pipelines: z.enum(['auto', 'local']).default('auto'),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (!o.api_key_env === !o.api_key_file) {
      ctx.addIssue({ code: 'custom', path: ['api_key_env'], message: 'set exactly one of api_key_env or api_key_file' });
    }
  });

/** The shipper's own config file (not nyx.yml: an endpoint has no cluster config). */
export const shipperConfigSchema = z
  .object({
    /** The Nyx ingest API; the alternative is output.elasticsearch (direct mode). */
    server: z.url({ message: 'expected the Nyx ingest API URL, such as https://nyx.example.org:8080' }).optional(),
    /** First start only: exchanged for an agent key. Short-lived (24 h) and single-purpose, so it may sit here. */
    enrollment_token: z.string().min(1).optional(),
    /** A file holding the enrollment token (what bundles use). NYX_ENROLLMENT_TOKEN also works. */
    enrollment_token_file: z.string().min(1).optional(),
    state_dir: z.string().min(1).default('/var/lib/nyx-ship'),
    hostname: z.string().min(1).optional(),
    inputs: z.array(inputSchema).default([]),
    output: z
      .object({
        batch_size: z.number().int().positive().max(10_000).default(500),
        flush_interval_ms: durationMs.default(1_000),
        gzip: z.boolean().default(true),
        request_timeout_ms: durationMs.default(30_000),
        backoff_initial_ms: durationMs.default(500),
        backoff_max_ms: durationMs.default(60_000),
        elasticsearch: elasticsearchOutputSchema.optional(),
      })
      .strict()
      .prefault({}),
    queue: z
      .object({
        max_events: z.number().int().positive().default(1_000_000),
        max_bytes: z.number().int().positive().default(512 * 1024 * 1024),
        /** drop_oldest: keep taking new events, drop (and count) the oldest queued ones; block: stop reading sources. */
        policy: z.enum(['drop_oldest', 'block']).default('drop_oldest'),
        segment_bytes: z.number().int().positive().default(16 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    status_interval_ms: durationMs.default(2_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.server && !c.output.elasticsearch) {
      ctx.addIssue({ code: 'custom', path: ['server'], message: 'required: the Nyx ingest API URL, or output.elasticsearch to write to Elasticsearch directly' });
    } else if (c.server && c.output.elasticsearch) {
      ctx.addIssue({ code: 'custom', path: ['output', 'elasticsearch'], message: 'set either server or output.elasticsearch, not both' });
    }
  });

export type ShipperConfig = z.infer<typeof shipperConfigSchema>;
export type InputConfig = z.infer<typeof inputSchema>;
export type FileInputConfig = z.infer<typeof fileInputSchema>;
export type JournaldInputConfig = z.infer<typeof journaldInputSchema>;
export type WindowsInputConfig = z.infer<typeof windowsInputSchema>;
export type ElasticsearchOutputConfig = z.infer<typeof elasticsearchOutputSchema>;

/** Where events go, for messages and the status file (never a credential). */
export function outputTarget(config: ShipperConfig): string {
  const es = config.output.elasticsearch;
  return es ? `elasticsearch ${es.url} (namespace ${es.namespace})` : (config.server ?? '');
}

/** Reads and validates a shipper config; relative paths in it are relative to the file. */
export function loadShipperConfig(file: string): ShipperConfig {
  if (!existsSync(file)) throw new NyxError(`shipper config ${file} not found`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof YAMLParseError) throw new NyxError(`${file}: invalid YAML: ${err.message.split('\n')[0]}`);
    throw new NyxError(`${file}: cannot read: ${(err as Error).message}`);
  }
  refuseReservedKeys(raw, file);
  const parsed = shipperConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new NyxError(formatConfigIssue(parsed.error.issues[0], file));
  const base = dirname(resolve(file));
  const config = parsed.data;
  config.state_dir = resolve(base, config.state_dir);
  if (config.enrollment_token_file) config.enrollment_token_file = resolve(base, config.enrollment_token_file);
  const es = config.output.elasticsearch;
  if (es?.api_key_file) es.api_key_file = resolve(base, es.api_key_file);
  if (es?.ca_file) es.ca_file = resolve(base, es.ca_file);
  for (const input of config.inputs) {
    if (input.type === 'files') input.paths = input.paths.map((p) => resolve(base, p));
    if (input.type === 'journald' && input.directory) input.directory = resolve(base, input.directory);
  }
  return config;
}

/** The state dir alone, for `nyx ship status` (it must work even when the server is unreachable). */
export function stateDirOf(file: string): string {
  return loadShipperConfig(file).state_dir;
}

/** A stable id per input, so cursors survive reordering the inputs list. */
export function inputId(input: InputConfig, index: number): string {
  if (input.id) return input.id;
  if (input.type === 'files') return `files:${input.paths.join(',')}`;
  return `${input.type}:${index}`;
}
