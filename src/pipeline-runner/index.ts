/**
 * In-process runner for Elasticsearch ingest pipelines.
 *
 * The local node (minimal ES distribution) has no ingest processors, so Nyx runs the same
 * pipeline definitions (pipelines/<source>.yml) itself before `_bulk`, aiming for the result
 * Elasticsearch would produce. Everything a caller needs is exported here; the rest is internal.
 */
export { pipelineDefinitionSchema, type PipelineDefinition, type ProcessorDefinition } from './schema.ts';
export {
  compilePipeline,
  processorsUsed,
  SUPPORTED_PROCESSORS,
  type CompileOptions,
  type CompiledPipeline,
  type RunMeta,
  type RunOptions,
  type RunResult,
  type PipelineFailure,
} from './compile.ts';
export { registerNativeScript, type NativeScript } from './native-scripts.ts';
export { createGeoIpLookup, type GeoIpLookup, type GeoIpRecord } from './geoip.ts';
