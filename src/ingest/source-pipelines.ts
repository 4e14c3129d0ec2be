import { loadAssetCatalog, DEFAULT_ASSETS_DIR, type AssetCatalog } from '../assets/catalog.ts';
import type { NyxConfig, Source } from '../config/index.ts';
import { missingProcessors, type ClusterCapabilities } from '../elastic/capabilities.ts';
import { compilePipeline, createGeoIpLookup, type CompiledPipeline, type RunResult, type PipelineDefinition, type GeoIpLookup } from '../pipeline-runner/index.ts';
import { pipelineProcessorsUsed } from '../bootstrap/processors.ts';
import { IOC_PIPELINE, names } from '../bootstrap/desired.ts';
import './ioc-match.ts';

/**
 * Each source's ECS pipeline, wherever it runs: in Elasticsearch when the cluster has every processor
 * it uses (the pipeline is then the data stream's default pipeline), otherwise here, in process,
 * before the document is indexed. Either way the same YAML decides the document's shape.
 */
export class SourcePipelines {
  private readonly compiled = new Map<Source, CompiledPipeline>();
  private readonly clusterRuns = new Map<Source, boolean>();

  private constructor(readonly catalog: AssetCatalog) {}

  static create(config: NyxConfig, caps: ClusterCapabilities, options: { assetsDir?: string; geoip?: GeoIpLookup } = {}): SourcePipelines {
    const catalog = loadAssetCatalog(options.assetsDir ?? process.env.NYX_ASSETS_DIR ?? DEFAULT_ASSETS_DIR);
    const pipelines = new SourcePipelines(catalog);
    const geoip = options.geoip ?? createGeoIpLookup();
    const definitions = new Map<string, PipelineDefinition>();
    definitions.set(IOC_PIPELINE, catalog.iocEnrichment.pipeline as PipelineDefinition);
    for (const src of catalog.sources) {
      const inCluster = missingProcessors(caps, pipelineProcessorsUsed(src.pipeline)).length === 0;
      pipelines.clusterRuns.set(src.source, inCluster);
      if (inCluster) continue;
      const def = {
        ...src.pipeline,
        processors: [...src.pipeline.processors, { pipeline: { name: IOC_PIPELINE, ignore_missing_pipeline: true } }],
      } as PipelineDefinition;
      pipelines.compiled.set(
        src.source,
        compilePipeline(def, {
          timezone: config.ingest.timezone,
          geoip,
          resolvePipeline: (name) => definitions.get(name),
        }),
      );
    }
    return pipelines;
  }

  /** Every pipeline in process, no cluster involved: for offline tools such as `nyx rules test`. */
  static offline(config: NyxConfig, options: { assetsDir?: string; geoip?: GeoIpLookup } = {}): SourcePipelines {
    const none: ClusterCapabilities = {
      version: 'offline', major: 0, buildFlavor: 'none', license: null, modules: [], ingestProcessors: [],
      ml: { available: false, reason: 'offline' }, dataStreamApi: false, percolator: false, painless: false, constantKeyword: false,
    };
    return SourcePipelines.create(config, none, options);
  }

  /** True when Elasticsearch runs this source's pipeline itself (documents are sent raw). */
  runsInCluster(source: Source): boolean {
    return this.clusterRuns.get(source) ?? false;
  }

  pipelineName(source: Source): string {
    return names.pipeline(source);
  }

  /** Runs the source's pipeline in process. Never throws for a bad document: failures are in the result. */
  normalise(source: Source, doc: Record<string, unknown>, meta: { _index?: string; _id?: string } = {}): RunResult {
    const pipeline = this.compiled.get(source);
    if (!pipeline) return { doc, dropped: false } as RunResult;
    return pipeline.run(doc, meta);
  }
}
