/**
 * Compiles a pipeline definition once (regexes, conditions, templates) into closures, and runs
 * documents through it synchronously.
 */
import { NyxError } from '../errors.ts';
import { ConditionSyntaxError, compileConditionChain, rootIsMap, type Conjunct } from './condition.ts';
import { FieldPath, IngestDocument, METADATA_FIELDS, ProcessorError, cloneJson, isObject, type JsonObject } from './document.ts';
import {
  DefinitionError,
  type CompileContext,
  type CompileOptions,
  type CompiledPipelineBody,
  type CompiledProcessor,
  type PipelineRef,
  type ProcessorFactory,
  type ProcessorList,
} from './processor.ts';
import { processorFactories } from './processors/index.ts';
import { executePipeline } from './runtime.ts';
import {
  formatPath,
  isProcessorType,
  pipelineDefinitionSchema,
  processorSchemas,
  type PipelineDefinition,
  type ProcessorDefinition,
  type ProcessorType,
} from './schema.ts';
import { TemplateSyntaxError, isTemplate, templateOnlyFields } from './template.ts';

export type { CompileOptions };

export interface RunMeta {
  _index?: string;
  _id?: string;
}

export interface PipelineFailure {
  message: string;
  processor_type: string | undefined;
  processor_tag: string | undefined;
}

export interface RunOptions {
  /**
   * The caller hands the document over: the pipeline works on `doc` itself instead of a deep copy (saving
   * the copy, a good part of a short pipeline's cost). `doc` and every object or list in it may then be
   * changed, moved or dropped whatever the outcome, and the result's `doc` is `doc` itself; on an unhandled
   * failure it is the document as far as the pipeline got, not the input unchanged. Only for documents
   * nothing else holds or reads afterwards (e.g. freshly parsed JSON whose original text is kept aside).
   */
  ownsInput?: boolean;
}

export interface RunResult {
  /**
   * The processed document; on an unhandled failure, the input document unchanged (with `ownsInput`,
   * see RunOptions, the input as the pipeline left it).
   */
  doc: Record<string, unknown>;
  dropped: boolean;
  /** The target index when the pipeline set `_index`, else the one passed in. */
  index?: string;
  /** The document id when the pipeline set `_id`, else the one passed in. */
  id?: string;
  /** Set when a processor failed and no on_failure handled it (ES would reject the document). */
  error?: PipelineFailure;
}

export interface CompiledPipeline {
  run(doc: Record<string, unknown>, meta?: RunMeta, options?: RunOptions): RunResult;
}

export const SUPPORTED_PROCESSORS: ReadonlySet<string> = new Set(Object.keys(processorSchemas));

class Compiler {
  private readonly pipelines = new Map<string, PipelineRef>();
  constructor(readonly options: CompileOptions) {}

  compilePipeline(def: unknown, name: string | undefined, prefix: string): CompiledPipelineBody {
    const parsed = pipelineDefinitionSchema.safeParse(def);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = formatPath(issue.path);
      throw new NyxError(`invalid pipeline${name ? ` [${name}]` : ''}: ${prefix}${where}: ${issue.message}`);
    }
    const pipeline = parsed.data;
    return {
      name,
      processors: processorList(pipeline.processors.map((p, i) => this.compileProcessor(p, `${prefix}processors[${i}]`))),
      onFailure: pipeline.on_failure && processorList(pipeline.on_failure.map((p, i) => this.compileProcessor(p, `${prefix}on_failure[${i}]`))),
    };
  }

  compileProcessor(def: ProcessorDefinition, path: string): CompiledProcessor {
    const type = Object.keys(def)[0] ?? '';
    if (!isProcessorType(type)) throw new NyxError(`${path}: unknown processor type [${type}]`);
    const where = `${path}.${type}`;
    const parsed = processorSchemas[type].safeParse(def[type] ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new NyxError(`${where}${issue.path.length ? '.' + formatPath(issue.path) : ''}: ${issue.message}`);
    }
    const options = parsed.data;
    const condition = options.if === undefined ? undefined : typeof options.if === 'string' ? options.if : options.if.source;
    try {
      const ctx: CompileContext = {
        options: this.options,
        path: where,
        tag: options.tag,
        compileProcessor: (inner, innerPath) => this.compileProcessor(inner, innerPath),
        pipeline: (name) => this.nestedPipeline(name, where),
        now: () => (this.options.now ? this.options.now() : new Date()),
      };
      const factory = processorFactories[type] as ProcessorFactory<ProcessorType>;
      const chain = condition === undefined ? undefined : compileConditionAt(condition, where);
      const guard = chain === undefined ? implicitGuard(type, options as Record<string, unknown>) : undefined;
      const conjuncts = chain ? chain.conjuncts : guard && [guard];
      return {
        type,
        tag: options.tag,
        condition: chain?.condition,
        conjuncts,
        tests: conjuncts?.map((c) => c.test),
        skip: undefined,
        ignoreFailure: options.ignore_failure,
        onFailure: options.on_failure && processorList(options.on_failure.map((p, i) => this.compileProcessor(p, `${where}.on_failure[${i}]`))),
        body: factory(options as never, ctx),
      };
    } catch (err) {
      if (err instanceof NyxError) throw err;
      if (err instanceof DefinitionError) throw new NyxError(`${where}${err.option ? '.' + err.option : ''}: ${err.message}`);
      if (err instanceof TemplateSyntaxError || err instanceof ProcessorError) throw new NyxError(`${where}: ${err.message}`);
      throw err;
    }
  }

  /** Compiles a named pipeline once per top-level compile. */
  private nestedPipeline(name: string, where: string): PipelineRef | undefined {
    const known = this.pipelines.get(name);
    if (known) return known;
    const def = this.options.resolvePipeline?.(name);
    if (def === undefined) return undefined;
    const ref: PipelineRef = { body: undefined };
    this.pipelines.set(name, ref);
    try {
      ref.body = this.compilePipeline(def, name, `${where}(pipeline ${name}).`);
      return ref;
    } catch (err) {
      this.pipelines.delete(name);
      throw err;
    }
  }
}

/** Types whose body, with ignore_missing, first reads `field` and returns untouched when it is missing or null. */
const READS_FIELD_FIRST = new Set(['convert', 'lowercase', 'uppercase', 'trim', 'urldecode', 'gsub', 'grok', 'dissect', 'kv', 'csv', 'uri_parts', 'split', 'foreach', 'geoip', 'user_agent']);

/** For a static field path that resolves only under a map at a plain source key (see FieldPath.mapRoot): that key. */
function staticRoot(field: unknown): string | undefined {
  if (typeof field !== 'string' || isTemplate(field)) return undefined;
  let root: string | undefined;
  try {
    root = new FieldPath(field).mapRoot;
  } catch {
    return undefined;
  }
  // Only keys `ctx.<key>` reads from the source: rootIsMap is that condition.
  return root !== undefined && /^[A-Za-z_$][\w$]*$/.test(root) && root !== '_ingest' && root !== '_source' && !METADATA_FIELDS.has(root) ? root : undefined;
}

/**
 * A guard for a processor without `if` that provably does nothing (no change, no failure) unless the source
 * has a map under one key: `convert field: winlog.process.pid, ignore_missing: true` when `winlog` is not a
 * map, `set value: "{{{winlog.computer_name}}}", ignore_empty_value: true` likewise. The guard is the conjunct
 * `ctx.winlog instanceof Map`, so the processor joins guard hoisting (see ProcessorList) with its neighbours,
 * explicit conditions starting with that conjunct included. Skipping it is exactly running it: it would have
 * found its field missing and returned.
 */
function implicitGuard(type: string, o: Record<string, unknown>): Conjunct | undefined {
  let roots: Array<string | undefined>;
  if (READS_FIELD_FIRST.has(type)) {
    if (o.ignore_missing !== true) return undefined;
    roots = [staticRoot(o.field)];
  } else if (type === 'rename') {
    // The target is resolved before the field is read: it must be static too (a templated one can fail).
    if (o.ignore_missing !== true || typeof o.target_field !== 'string' || isTemplate(o.target_field)) return undefined;
    roots = [staticRoot(o.field)];
  } else if (type === 'remove') {
    if (o.ignore_missing !== true || o.keep !== undefined || !Array.isArray(o.field) || o.field.length === 0) return undefined;
    roots = o.field.map(staticRoot);
  } else if (type === 'set') {
    // Renders '' (or copies nothing) and ignore_empty_value returns; override: false only reads first.
    if (o.ignore_empty_value !== true || typeof o.field !== 'string' || isTemplate(o.field)) return undefined;
    if (o.copy_from !== undefined) roots = [staticRoot(o.copy_from)];
    else if (typeof o.value === 'string') roots = templateOnlyFields(o.value)?.map((f) => staticRoot(f.path)) ?? [undefined];
    else return undefined;
  } else return undefined;
  const root = roots[0];
  if (root === undefined || roots.some((r) => r !== root)) return undefined;
  return rootIsMap(root);
}

/**
 * Guard hoisting (see ProcessorList): processor i's skip[d] is the first processor after i whose conjuncts
 * do not start with processor i's first d+1 conjuncts. Computed backwards: if processor i+1 shares them, it is
 * i+1's own skip[d] (sharing a prefix is transitive along the run).
 */
function processorList(processors: CompiledProcessor[]): ProcessorList {
  for (let i = processors.length - 1; i >= 0; i--) {
    const own = processors[i]!.conjuncts;
    if (own === undefined) continue;
    const next = processors[i + 1]?.conjuncts;
    const nextSkip = processors[i + 1]?.skip;
    const row: number[] = [];
    let shared = true;
    for (let d = 0; d < own.length; d++) {
      shared = shared && next !== undefined && nextSkip !== undefined && d < next.length && next[d]!.key === own[d]!.key;
      row.push(shared ? nextSkip![d]! : i + 1);
    }
    processors[i]!.skip = row;
  }
  const next = new Int32Array(processors.length);
  processors.forEach((p, i) => (next[i] = p.skip ? p.skip[0]! : i + 1));
  return { processors, heads: processors.map((p) => p.tests?.[0]), next };
}

function compileConditionAt(source: string, where: string) {
  try {
    return compileConditionChain(source);
  } catch (err) {
    if (err instanceof ConditionSyntaxError) throw new NyxError(`${where}.if: ${err.message} in [${source}] (see the condition subset in src/pipeline-runner/condition.ts)`);
    throw err;
  }
}

/** The compiled form of a pipeline, guard hoisting included: for tests and tools that inspect it (not exported by index.ts). */
export function compileBody(def: PipelineDefinition | unknown, options: CompileOptions = {}): CompiledPipelineBody {
  return new Compiler(options).compilePipeline(def, options.name, '');
}

/**
 * Compiles a pipeline definition (typically straight from YAML: it is validated here with
 * pipelineDefinitionSchema); throws a NyxError naming the processor and option when invalid.
 */
export function compilePipeline(def: PipelineDefinition | unknown, options: CompileOptions = {}): CompiledPipeline {
  const body = compileBody(def, options);
  // `_ingest.timestamp` for every document: Date#toISOString costs over a microsecond, so render it
  // once per clock millisecond (the string only changes when the millisecond does).
  let lastMs = Number.NaN;
  let lastIso = '';
  const timestamp = (): string => {
    const date = options.now ? options.now() : undefined;
    const ms = date ? date.getTime() : Date.now();
    if (ms !== lastMs) {
      lastIso = (date ?? new Date(ms)).toISOString();
      lastMs = ms;
    }
    return lastIso;
  };
  return {
    run(input, meta = {}, runOptions) {
      // Failures are ordinary control flow here (ignore_failure, on_failure, grok misses) and only
      // their message is ever used, so skip V8's stack capture: it cost more than the processors.
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        const docMeta: JsonObject = {};
        if (meta._index !== undefined) docMeta._index = meta._index;
        if (meta._id !== undefined) docMeta._id = meta._id;
        const doc = new IngestDocument(runOptions?.ownsInput ? input : cloneJson(input), docMeta, { timestamp: timestamp() });
        if (options.name) doc.pipelineStack.push(options.name);
        executePipeline(body, doc);
        const result: RunResult = { doc: doc.source, dropped: doc.dropped };
        if (typeof docMeta._index === 'string') result.index = docMeta._index;
        if (docMeta._id !== undefined && docMeta._id !== null) result.id = String(docMeta._id);
        return result;
      } catch (err) {
        const failure = err instanceof ProcessorError ? err : undefined;
        return {
          doc: input,
          dropped: false,
          ...(meta._index !== undefined ? { index: meta._index } : {}),
          ...(meta._id !== undefined ? { id: meta._id } : {}),
          error: {
            message: err instanceof Error ? err.message : String(err),
            processor_type: failure?.processorType,
            processor_tag: failure?.processorTag,
          },
        };
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
    },
  };
}

/** Every processor type `def` needs, including nested on_failure, foreach and named pipelines. */
export function processorsUsed(def: PipelineDefinition, resolvePipeline?: (name: string) => PipelineDefinition | undefined): Set<string> {
  const used = new Set<string>();
  const seen = new Set<string>();
  const visitList = (list: unknown): void => {
    if (Array.isArray(list)) list.forEach(visit);
  };
  const visit = (processor: unknown): void => {
    if (!isObject(processor)) return;
    for (const [type, options] of Object.entries(processor)) {
      used.add(type);
      if (!isObject(options)) continue;
      visitList(options.on_failure);
      if (type === 'foreach') visit(options.processor);
      if (type === 'pipeline' && typeof options.name === 'string' && !seen.has(options.name)) {
        seen.add(options.name);
        const nested = resolvePipeline?.(options.name);
        if (nested) {
          visitList(nested.processors);
          visitList(nested.on_failure);
        }
      }
    }
  };
  visitList(def.processors);
  visitList(def.on_failure);
  return used;
}
