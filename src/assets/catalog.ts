import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, isMap, isScalar, isSeq, type Node, LineCounter } from 'yaml';
import { z } from 'zod';
import type { estypes } from '@elastic/elasticsearch';
import { NyxError } from '../errors.ts';
import { findReservedKey, RESERVED_KEYS_RULE } from '../reserved-keys.ts';
import { SOURCES, type Source } from '../config/index.ts';

/** The repository's own pipelines/ folder: assets ship with the code. */
export const DEFAULT_ASSETS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'pipelines');

const processorSchema = z.record(z.string(), z.unknown()).refine((p) => Object.keys(p).length === 1, {
  message: 'a processor is a map with exactly one key, its type',
});

export const pipelineBodySchema = z
  .object({
    description: z.string().optional(),
    processors: z.array(processorSchema),
    on_failure: z.array(processorSchema).min(1, 'every Nyx pipeline keeps failed documents: on_failure is required'),
  })
  .strict();
export type PipelineBody = z.infer<typeof pipelineBodySchema>;

const mappingsSchema = z.object({ properties: z.record(z.string(), z.unknown()) }).catchall(z.unknown());

const ecsFileSchema = z.object({ version: z.number().int().positive(), description: z.string().optional(), mappings: mappingsSchema }).strict();

const sourceFileSchema = z
  .object({
    source: z.enum(SOURCES),
    version: z.number().int().positive(),
    description: z.string().optional(),
    mappings: mappingsSchema.optional(),
    pipeline: pipelineBodySchema,
  })
  .strict();

const iocFileSchema = z.object({ version: z.number().int().positive(), description: z.string().optional(), pipeline: pipelineBodySchema.extend({ on_failure: z.array(processorSchema).optional() }) }).strict();

/** ML anomaly-detection job + datafeed. The shapes are narrowed so they type-check against the client's MlPutJobRequest. */
const detectorSchema = z
  .object({
    function: z.string(),
    field_name: z.string().optional(),
    by_field_name: z.string().optional(),
    over_field_name: z.string().optional(),
    partition_field_name: z.string().optional(),
    detector_description: z.string().optional(),
  })
  .strict();
const mlFileSchema = z
  .object({
    version: z.number().int().positive(),
    job_id: z.string().regex(/^[a-z0-9][a-z0-9_-]*[a-z0-9]$/),
    job: z
      .object({
        description: z.string(),
        analysis_config: z.object({ bucket_span: z.string(), detectors: z.array(detectorSchema).min(1), influencers: z.array(z.string()).optional() }).strict(),
        data_description: z.object({ time_field: z.string(), time_format: z.string().optional() }).strict(),
        analysis_limits: z.object({ model_memory_limit: z.string() }).strict().optional(),
        results_index_name: z.string().optional(),
      })
      .strict(),
    datafeed: z
      .object({
        indices: z.array(z.string()).min(1),
        query: z.record(z.string(), z.unknown()),
        frequency: z.string().optional(),
        query_delay: z.string().optional(),
      })
      .strict(),
  })
  .strict();
export type MlAsset = z.infer<typeof mlFileSchema>;

/** Nyx's own stores (agents, dead letters, alerts, state): plain templates, one file each under pipelines/system/. */
const systemFileSchema = z
  .object({
    version: z.number().int().positive(),
    kind: z.enum(['index_template', 'component_template']),
    name: z.string().regex(/^[a-z0-9][a-z0-9_.@-]*$/),
    description: z.string().optional(),
    body: z.record(z.string(), z.unknown()),
  })
  .strict();
export type SystemAsset = z.infer<typeof systemFileSchema> & { file: string };

export interface SourceAsset {
  source: Source;
  version: number;
  description?: string;
  mappings?: Record<string, unknown>;
  pipeline: PipelineBody;
  file: string;
}

export interface AssetCatalog {
  dir: string;
  ecs: { version: number; mappings: Record<string, unknown>; file: string };
  sources: SourceAsset[];
  iocEnrichment: { version: number; pipeline: { description?: string; processors: Array<Record<string, unknown>>; on_failure?: Array<Record<string, unknown>> }; file: string };
  /** Every Nyx data stream's final pipeline: data_stream set from the data stream's name (data_stream_stamp.yml). */
  dataStreamStamp: { version: number; pipeline: { description?: string; processors: Array<Record<string, unknown>>; on_failure?: Array<Record<string, unknown>> }; file: string };
  ml: Array<MlAsset & { file: string }>;
  system: SystemAsset[];
}

/** Reads a YAML file and validates it; errors name the file, the path inside it and the line. */
function readAsset<T>(file: string, schema: z.ZodType<T>): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new NyxError(`${file}: cannot read the asset file`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new NyxError(`${file}${pos ? `:${pos.line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const data: unknown = doc.toJS();
  const reserved = findReservedKey(data);
  if (reserved) {
    // The line of the key itself: its pair in the parent map.
    const parent = nodeAt(doc.contents, reserved.path.slice(0, -1));
    const key = reserved.path[reserved.path.length - 1];
    const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
    const node = (pair?.key as Node | undefined) ?? parent;
    const line = node?.range ? `:${lineCounter.linePos(node.range[0]).line}` : '';
    throw new NyxError(`${file}${line}: ${reserved.path.join('.')}: ${RESERVED_KEYS_RULE}`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String);
    const node = nodeAt(doc.contents, path);
    const line = node?.range ? `:${lineCounter.linePos(node.range[0]).line}` : '';
    const where = path.length ? path.join('.') : '(top level)';
    const detail = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.join(', ')}` : issue.message;
    throw new NyxError(`${file}${line}: ${where}: ${detail}`);
  }
  return parsed.data;
}

function nodeAt(node: unknown, path: string[]): Node | undefined {
  let current = node as Node | undefined;
  let last = current;
  for (const key of path) {
    if (isMap(current)) current = current.get(key, true) as Node | undefined;
    else if (isSeq(current)) current = current.get(Number(key), true) as Node | undefined;
    else break;
    if (current) last = current;
  }
  return last;
}

/** Loads and validates every asset file. Fails on the first bad file with a readable line. */
export function loadAssetCatalog(dir: string = DEFAULT_ASSETS_DIR): AssetCatalog {
  if (!existsSync(dir)) throw new NyxError(`asset folder ${dir} not found`);
  const ecsFile = join(dir, '_ecs.yml');
  const ecs = readAsset(ecsFile, ecsFileSchema);
  const sources: SourceAsset[] = [];
  for (const source of SOURCES) {
    const file = join(dir, `${source}.yml`);
    if (!existsSync(file)) throw new NyxError(`${file}: missing asset file for source ${source}`);
    const asset = readAsset(file, sourceFileSchema);
    if (asset.source !== source) throw new NyxError(`${file}: source: expected ${source} (the file name), got ${asset.source}`);
    sources.push({ ...asset, file });
  }
  const iocFile = join(dir, 'ioc_enrichment.yml');
  const ioc = readAsset(iocFile, iocFileSchema);
  const stampFile = join(dir, 'data_stream_stamp.yml');
  const stamp = readAsset(stampFile, iocFileSchema);
  const mlDir = join(dir, 'ml');
  const ml = existsSync(mlDir)
    ? readdirSync(mlDir)
        .filter((f) => f.endsWith('.yml'))
        .sort()
        .map((f) => {
          const file = join(mlDir, f);
          const asset = readAsset(file, mlFileSchema);
          if (asset.job_id !== basename(f, '.yml')) throw new NyxError(`${file}: job_id: expected ${basename(f, '.yml')} (the file name)`);
          return { ...asset, file };
        })
    : [];
  const systemDir = join(dir, 'system');
  const system = existsSync(systemDir)
    ? readdirSync(systemDir)
        .filter((f) => f.endsWith('.yml'))
        .sort()
        .map((f) => ({ ...readAsset(join(systemDir, f), systemFileSchema), file: join(systemDir, f) }))
    : [];
  return { system, dir, ecs: { version: ecs.version, mappings: ecs.mappings, file: ecsFile }, sources, iocEnrichment: { ...ioc, file: iocFile }, dataStreamStamp: { ...stamp, file: stampFile }, ml };
}

// Compile-time proof that ML asset bodies fit the official client's request types:
// a schema change that breaks MlPutJobRequest / MlPutDatafeedRequest fails `tsc`.
type JobFits = MlAsset['job'] extends Omit<estypes.MlPutJobRequest, 'job_id'> ? true : never;
type DatafeedFits = MlAsset['datafeed'] extends Omit<estypes.MlPutDatafeedRequest, 'datafeed_id'> ? true : never;
export const ML_ASSETS_FIT_CLIENT_TYPES: JobFits & DatafeedFits = true;
