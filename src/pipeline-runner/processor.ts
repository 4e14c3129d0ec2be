/** Shapes shared by the compiler, the runtime and the processor implementations. */
import type { Condition } from './condition.ts';
import type { IngestDocument } from './document.ts';
import type { GeoIpLookup } from './geoip.ts';
import type { PipelineDefinition, ProcessorDefinition, ProcessorOptions, ProcessorType } from './schema.ts';

export interface CompileOptions {
  /** Looks up pipelines named by `pipeline` processors. */
  resolvePipeline?(name: string): PipelineDefinition | undefined;
  /** Default timezone for `date` processors without one (ES's default is UTC). */
  timezone?: string;
  /** GeoIP database; defaults to the bundled GeoLite2 city data, loaded on first use. */
  geoip?: GeoIpLookup;
  /** Clock for `_ingest.timestamp` and year inference; injectable for tests. */
  now?: () => Date;
  /** Name reported as `_ingest.on_failure_pipeline`. */
  name?: string;
}

/** The body of a processor: mutates the document or throws a ProcessorError. */
export type ProcessorBody = (doc: IngestDocument) => void;

export interface CompiledProcessor {
  readonly type: string;
  readonly tag: string | undefined;
  readonly condition: Condition | undefined;
  readonly ignoreFailure: boolean;
  readonly onFailure: readonly CompiledProcessor[] | undefined;
  readonly body: ProcessorBody;
}

export interface CompiledPipelineBody {
  readonly name: string | undefined;
  readonly processors: readonly CompiledProcessor[];
  readonly onFailure: readonly CompiledProcessor[] | undefined;
}

export interface PipelineRef {
  body: CompiledPipelineBody | undefined;
}

/** A definition problem found while compiling; `option` is relative to the processor (`patterns[0]`). */
export class DefinitionError extends Error {
  constructor(
    message: string,
    readonly option?: string,
  ) {
    super(message);
  }
}

export interface CompileContext {
  readonly options: CompileOptions;
  /** `processors[3].foreach` — where this processor sits, for error messages. */
  readonly path: string;
  readonly tag: string | undefined;
  compileProcessor(def: ProcessorDefinition, path: string): CompiledProcessor;
  /**
   * A nested pipeline, compiled once per top-level compile; undefined when resolvePipeline does
   * not know it. `body` is filled once compiled, so a cycle still compiles (and fails at run time, as in ES).
   */
  pipeline(name: string): PipelineRef | undefined;
  now(): Date;
}

export type ProcessorFactory<T extends ProcessorType> = (options: ProcessorOptions<T>, ctx: CompileContext) => ProcessorBody;
export type ProcessorFactories = { [T in ProcessorType]: ProcessorFactory<T> };
