/** Shapes shared by the compiler, the runtime and the processor implementations. */
import type { Condition, Conjunct } from './condition.ts';
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

/**
 * The body of a processor: mutates the document or throws a ProcessorError. It returns `false` only
 * when it certainly left the document as it was (e.g. `ignore_missing` and the field is absent): the
 * document then keeps its epoch, so the cached condition results stay valid for the processors after it.
 */
export type ProcessorBody = (doc: IngestDocument) => void | false;

export interface CompiledProcessor {
  readonly type: string;
  readonly tag: string | undefined;
  readonly condition: Condition | undefined;
  /**
   * The condition's top-level `&&` operands (see compileConditionChain), or for a processor without
   * condition an implicit guard (see implicitGuard in compile.ts).
   */
  readonly conjuncts: readonly Conjunct[] | undefined;
  /** `conjuncts[d].test`, for the runtime (one load less per test). */
  readonly tests: readonly Condition[] | undefined;
  /**
   * Guard hoisting, set when the processor's list is built (see ProcessorList): per conjunct d, the index
   * in the list to resume at when conjunct d is the first false one.
   */
  skip: readonly number[] | undefined;
  readonly ignoreFailure: boolean;
  readonly onFailure: ProcessorList | undefined;
  readonly body: ProcessorBody;
}

/**
 * A list of processors (a pipeline's, an on_failure's) with its guard hoisting, worked out once at compile
 * time. Consecutive processors whose conditions start with the same conjuncts form a group: when, for
 * processor i, conjuncts 0..d-1 are true and conjunct d is false, every processor from i up to
 * `processors[i].skip[d]` (exclusive) starts with those same d+1 conjuncts, so its condition is false too;
 * none of them runs, none changes the document, and the runtime resumes at `skip[d]` without evaluating them.
 */
export interface ProcessorList {
  /** Each with its `skip` row (a processor belongs to exactly one list). */
  readonly processors: readonly CompiledProcessor[];
  /** Per processor: its first test (`tests[0]`), or undefined (dense, for the runtime's loop). */
  readonly heads: ReadonlyArray<Condition | undefined>;
  /** Per processor with tests: `skip[0]`, where to resume when the first conjunct is false. */
  readonly next: Int32Array;
}

export interface CompiledPipelineBody {
  readonly name: string | undefined;
  readonly processors: ProcessorList;
  readonly onFailure: ProcessorList | undefined;
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
