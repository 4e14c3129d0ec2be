/**
 * Compiles a pipeline definition once (regexes, conditions, templates) into closures, and runs
 * documents through it synchronously.
 */
import { NyxError } from '../errors.ts';
import { ConditionSyntaxError, compileCondition } from './condition.ts';
import { IngestDocument, ProcessorError, cloneJson, isObject, type JsonObject } from './document.ts';
import {
  DefinitionError,
  type CompileContext,
  type CompileOptions,
  type CompiledPipelineBody,
  type CompiledProcessor,
  type PipelineRef,
  type ProcessorFactory,
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
import { TemplateSyntaxError } from './template.ts';

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

export interface RunResult {
  /** The processed document; on an unhandled failure, the input document unchanged. */
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
  run(doc: Record<string, unknown>, meta?: RunMeta): RunResult;
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
      processors: pipeline.processors.map((p, i) => this.compileProcessor(p, `${prefix}processors[${i}]`)),
      onFailure: pipeline.on_failure?.map((p, i) => this.compileProcessor(p, `${prefix}on_failure[${i}]`)),
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
      return {
        type,
        tag: options.tag,
        condition: condition === undefined ? undefined : compileConditionAt(condition, where),
        ignoreFailure: options.ignore_failure,
        onFailure: options.on_failure?.map((p, i) => this.compileProcessor(p, `${where}.on_failure[${i}]`)),
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

function compileConditionAt(source: string, where: string) {
  try {
    return compileCondition(source);
  } catch (err) {
    if (err instanceof ConditionSyntaxError) throw new NyxError(`${where}.if: ${err.message} in [${source}] (see the condition subset in src/pipeline-runner/condition.ts)`);
    throw err;
  }
}

/**
 * Compiles a pipeline definition (typically straight from YAML: it is validated here with
 * pipelineDefinitionSchema); throws a NyxError naming the processor and option when invalid.
 */
export function compilePipeline(def: PipelineDefinition | unknown, options: CompileOptions = {}): CompiledPipeline {
  const compiler = new Compiler(options);
  const body = compiler.compilePipeline(def, options.name, '');
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
    run(input, meta = {}) {
      // Failures are ordinary control flow here (ignore_failure, on_failure, grok misses) and only
      // their message is ever used, so skip V8's stack capture: it cost more than the processors.
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        const docMeta: JsonObject = {};
        if (meta._index !== undefined) docMeta._index = meta._index;
        if (meta._id !== undefined) docMeta._id = meta._id;
        const doc = new IngestDocument(cloneJson(input), docMeta, { timestamp: timestamp() });
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
