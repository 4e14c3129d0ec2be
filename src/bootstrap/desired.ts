import { createHash } from 'node:crypto';
import type { AssetCatalog } from '../assets/catalog.ts';
import { sourceSettings, type NyxConfig, type Source, type SourceSettings } from '../config/index.ts';
import { missingProcessors, type ClusterCapabilities } from '../elastic/capabilities.ts';
import { pipelineProcessorsUsed } from './processors.ts';

export type AssetKind = 'component_template' | 'index_template' | 'ingest_pipeline' | 'ml_job' | 'ml_datafeed';

/** One thing bootstrap puts into the cluster, as Nyx wants it to be. */
export interface DesiredAsset {
  kind: AssetKind;
  name: string;
  version: number;
  /** The request body, without `_meta` (added at apply time with version and hash). */
  body: Record<string, unknown>;
  /** A user hook: created if absent, never overwritten or deleted. */
  hook?: boolean;
  /** Why this cluster cannot take it (it is then skipped, and Nyx's fallback covers it). */
  skip?: string;
  /** Paths another part of Nyx manages at run time (e.g. generated indicator params): never drift. */
  runtimePaths?: RegExp[];
  source?: Source;
}

export const ECS_COMPONENT = 'nyx-ecs@package';
export const IOC_PIPELINE = 'nyx-ioc-enrichment';
export const DATA_STREAM_STAMP_PIPELINE = 'nyx-data-stream-stamp';

export const names = {
  packageComponent: (s: Source) => `logs-${s}@package`,
  customComponent: (s: Source) => `logs-${s}@custom`,
  indexTemplate: (s: Source) => `logs-${s}`,
  pipeline: (s: Source) => `logs-${s}@nyx`,
  customPipeline: (s: Source) => `logs-${s}@custom`,
  dataStream: (s: Source, namespace: string) => `logs-${s}-${namespace}`,
};

/**
 * Date processors that name no timezone read local times in the site's zone (ingest.timezone):
 * the in-process runner gets it as an option; Elasticsearch gets it written into the processor.
 */
export function withSiteTimezone(processors: Array<Record<string, unknown>>, timezone: string): Array<Record<string, unknown>> {
  return processors.map((p) => {
    const [[type, options]] = Object.entries(p) as [[string, Record<string, unknown>]];
    if (!options || typeof options !== 'object') return p;
    const next: Record<string, unknown> = { ...options };
    if (type === 'date' && next.timezone === undefined) next.timezone = timezone;
    if (Array.isArray(next.on_failure)) next.on_failure = withSiteTimezone(next.on_failure as Array<Record<string, unknown>>, timezone);
    if (type === 'foreach' && next.processor && typeof next.processor === 'object') next.processor = withSiteTimezone([next.processor as Record<string, unknown>], timezone)[0];
    return { [type]: next };
  });
}

/** Hash of a body without _meta: recorded in _meta so drift and upgrades can be told apart. */
export function bodyHash(body: Record<string, unknown>): string {
  return createHash('sha256').update(stableStringify(body)).digest('hex').slice(0, 16);
}

export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const DATA_STREAM_FIELDS = ['type', 'dataset', 'namespace'] as const;

/**
 * How `data_stream.type/dataset/namespace` are mapped on this cluster: `constant_keyword` where it has the mapper
 * (each backing index then holds one value, and a document naming another tenant is refused by the mapping),
 * otherwise `keyword` as the assets spell it. Tenancy never rests on the field alone: per-tenant work selects data
 * by index name, and the ingest path owns the field.
 */
export function dataStreamFieldType(caps: ClusterCapabilities): 'constant_keyword' | 'keyword' {
  return caps.constantKeyword ? 'constant_keyword' : 'keyword';
}

/** A template body with its `data_stream.*` fields mapped as dataStreamFieldType says (unchanged without the mapper). */
export function withDataStreamFieldType(body: Record<string, unknown>, caps: ClusterCapabilities): Record<string, unknown> {
  const dataStream = ((body.template as { mappings?: { properties?: Record<string, unknown> } } | undefined)?.mappings?.properties?.data_stream as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (!caps.constantKeyword || !dataStream || !DATA_STREAM_FIELDS.some((f) => dataStream[f] !== undefined)) return body;
  const copy = structuredClone(body) as { template: { mappings: { properties: { data_stream: { properties: Record<string, unknown> } } } } };
  const fields = copy.template.mappings.properties.data_stream.properties;
  for (const f of DATA_STREAM_FIELDS) if (fields[f] !== undefined) fields[f] = { type: 'constant_keyword' };
  return copy;
}

/**
 * Index settings for a source's replicas: a fixed count, or by default `auto_expand_replicas: 0-1`, so a
 * multi-node cluster keeps a copy of every shard on a second node (a node lost does not stop writes for the
 * ~30 s a primary without a copy waits) while a single node stays green with none.
 */
export function replicaSettings(settings: SourceSettings): Record<string, string> {
  return settings.replicas === 'auto' ? { number_of_replicas: '0', auto_expand_replicas: '0-1' } : { number_of_replicas: String(settings.replicas) };
}

/** How a source's data streams are laid out, for `nyx plan`: `1 shard, replicas auto (0-1)`. */
export function describeLayout(settings: SourceSettings): string {
  const shards = `${settings.shards} shard${settings.shards === 1 ? '' : 's'}`;
  return `${shards}, ${settings.replicas === 'auto' ? 'replicas auto (0-1: one copy once the cluster has a second node)' : `${settings.replicas} replica${settings.replicas === 1 ? '' : 's'}`}, retention ${settings.retention_days} d`;
}

/**
 * Everything bootstrap installs, in apply order (pipelines before the templates that name them,
 * component templates before the index templates composed of them, jobs before datafeeds).
 */
export function buildDesiredAssets(catalog: AssetCatalog, config: NyxConfig, caps: ClusterCapabilities): DesiredAsset[] {
  const assets: DesiredAsset[] = [];
  const iocMissing = missingProcessors(caps, pipelineProcessorsUsed(catalog.iocEnrichment.pipeline));
  const iocInCluster = iocMissing.length === 0 && caps.painless;
  assets.push({
    kind: 'ingest_pipeline',
    name: IOC_PIPELINE,
    version: catalog.iocEnrichment.version,
    body: { ...catalog.iocEnrichment.pipeline },
    // The threat-intel sync regenerates the indicator set in the script's params.
    runtimePaths: [/^processors\[\d+\]\.script\.params(\.|$)/],
    ...(iocInCluster ? {} : { skip: `runs in Nyx: the cluster lacks ${iocMissing.length ? `processors ${iocMissing.join(', ')}` : 'Painless'}` }),
  });
  // Every data stream's final pipeline where the cluster can run it: data_stream from the data stream's name.
  const stampMissing = missingProcessors(caps, pipelineProcessorsUsed(catalog.dataStreamStamp.pipeline));
  assets.push({
    kind: 'ingest_pipeline',
    name: DATA_STREAM_STAMP_PIPELINE,
    version: catalog.dataStreamStamp.version,
    body: { ...catalog.dataStreamStamp.pipeline },
    ...(stampMissing.length ? { skip: `runs in Nyx: data_stream is stamped after Nyx runs the source pipeline (the cluster lacks processors ${stampMissing.join(', ')})` } : {}),
  });
  const pipelineInCluster = new Map<Source, boolean>();
  for (const src of catalog.sources) {
    const s = src.source;
    assets.push({ kind: 'ingest_pipeline', name: names.customPipeline(s), version: 1, hook: true, source: s, body: { description: `user hook for logs-${s}: yours to edit; Nyx never overwrites or deletes it`, processors: [] } });
    const missing = missingProcessors(caps, pipelineProcessorsUsed(src.pipeline));
    pipelineInCluster.set(s, missing.length === 0);
    const processors = [
      ...withSiteTimezone(src.pipeline.processors, config.ingest.timezone),
      ...(iocInCluster ? [{ pipeline: { name: IOC_PIPELINE, ignore_missing_pipeline: true } }] : []),
      { pipeline: { name: names.customPipeline(s), ignore_missing_pipeline: true } },
    ];
    assets.push({
      kind: 'ingest_pipeline',
      name: names.pipeline(s),
      version: src.version,
      source: s,
      body: { ...src.pipeline, processors },
      ...(missing.length ? { skip: `runs in Nyx: the cluster lacks processors ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? `, +${missing.length - 6} more` : ''}` } : {}),
    });
  }
  assets.push({ kind: 'component_template', name: ECS_COMPONENT, version: catalog.ecs.version, body: withDataStreamFieldType({ template: { mappings: catalog.ecs.mappings } }, caps) });
  for (const src of catalog.sources) {
    const s = src.source;
    const settings = sourceSettings(config, s);
    const index: Record<string, unknown> = { codec: 'best_compression', number_of_shards: String(settings.shards), ...replicaSettings(settings) };
    if (pipelineInCluster.get(s)) index.default_pipeline = names.pipeline(s);
    if (stampMissing.length === 0) index.final_pipeline = DATA_STREAM_STAMP_PIPELINE;
    // Past the field limit, a new dynamic field (a winlog.event_data key) stays in _source unmapped instead of
    // the whole document being refused: no agent can push its neighbours' events into quarantine.
    index.mapping = { total_fields: { ignore_dynamic_beyond_limit: 'true' } };
    assets.push({
      kind: 'component_template',
      name: names.packageComponent(s),
      version: src.version,
      source: s,
      body: {
        template: {
          settings: { index },
          ...(src.mappings ? { mappings: src.mappings } : {}),
          lifecycle: { data_retention: `${settings.retention_days}d` },
        },
      },
    });
    assets.push({ kind: 'component_template', name: names.customComponent(s), version: 1, hook: true, source: s, body: { template: {} } });
  }
  for (const src of catalog.sources) {
    const s = src.source;
    assets.push({
      kind: 'index_template',
      name: names.indexTemplate(s),
      version: src.version,
      source: s,
      body: {
        index_patterns: [`logs-${s}-*`],
        data_stream: {},
        priority: 200,
        composed_of: [ECS_COMPONENT, names.packageComponent(s), names.customComponent(s)],
        ignore_missing_component_templates: [names.customComponent(s)],
      },
    });
  }
  // Nyx's own stores: component templates first, then index templates composed of them.
  for (const kind of ['component_template', 'index_template'] as const) {
    for (const sys of catalog.system.filter((a) => a.kind === kind)) assets.push({ kind, name: sys.name, version: sys.version, body: withDataStreamFieldType(sys.body, caps) });
  }
  for (const ml of catalog.ml) {
    const skip = caps.ml.available ? undefined : caps.ml.reason ?? 'machine learning is not available';
    assets.push({ kind: 'ml_job', name: ml.job_id, version: ml.version, body: { ...ml.job }, ...(skip ? { skip } : {}) });
    assets.push({ kind: 'ml_datafeed', name: `datafeed-${ml.job_id}`, version: ml.version, body: { job_id: ml.job_id, ...ml.datafeed }, ...(skip ? { skip } : {}) });
  }
  return assets;
}
