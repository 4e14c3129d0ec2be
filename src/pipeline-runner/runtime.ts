/**
 * Execution semantics of ES ingest: conditions, ignore_failure, processor-level on_failure
 * (the pipeline continues afterwards), pipeline-level on_failure (the pipeline stops after it),
 * and the `_ingest.on_failure_*` metadata visible to on_failure processors.
 *
 * Lists of processors run with guard hoisting (see ProcessorList in processor.ts): a condition is tested
 * conjunct by conjunct, and the first false conjunct skips, with it, every following processor whose
 * condition starts with the same conjuncts. That is only a shortcut: a skipped processor neither runs nor
 * changes the document, exactly as if its own condition had been evaluated to false, and whenever a
 * conjunct throws or is not a boolean the processor's whole condition is evaluated instead, so the failure
 * is that processor's, with its own ignore_failure / on_failure.
 */
import { ConditionRuntimeError } from './condition.ts';
import { IngestDocument, ProcessorError } from './document.ts';
import type { CompiledPipelineBody, CompiledProcessor, ProcessorList } from './processor.ts';

const FAILURE_KEYS = ['on_failure_message', 'on_failure_processor_type', 'on_failure_processor_tag', 'on_failure_pipeline'] as const;

function asProcessorError(err: unknown, processor: CompiledProcessor): ProcessorError {
  let failure: ProcessorError;
  if (err instanceof ProcessorError) failure = err;
  else if (err instanceof ConditionRuntimeError) failure = new ProcessorError(err.message);
  else failure = new ProcessorError(err instanceof Error ? err.message : String(err));
  // The innermost processor names the failure, as ES keeps the first processor_type header.
  if (failure.processorType === undefined) {
    failure.processorType = processor.type;
    failure.processorTag = processor.tag;
  }
  return failure;
}

/** One processor, its condition evaluated whole (foreach's inner processor, and the fallback of runList). */
export function executeProcessor(processor: CompiledProcessor, doc: IngestDocument): void {
  try {
    if (processor.condition && !processor.condition(doc)) return;
  } catch (err) {
    handleFailure(processor, doc, err);
    return;
  }
  runBody(processor, doc);
}

/** Runs a processor whose condition holds: the body, then ES's failure handling. */
function runBody(processor: CompiledProcessor, doc: IngestDocument): void {
  try {
    // Epoch (see IngestDocument): a body that changed the document (or may have) moves it on; one that
    // says it left the document alone keeps it. Nested processors (foreach, pipeline) move it themselves
    // whenever they change the document before evaluating a condition.
    if (processor.body(doc) !== false) doc.touch();
  } catch (err) {
    handleFailure(processor, doc, err);
  }
}

function handleFailure(processor: CompiledProcessor, doc: IngestDocument, err: unknown): void {
  // The body may have changed the document before it failed.
  doc.touch();
  if (processor.ignoreFailure) return;
  const failure = asProcessorError(err, processor);
  if (!processor.onFailure) throw failure;
  runOnFailure(processor.onFailure, doc, failure, undefined);
}

/**
 * Runs the processors of a list in order until the end or a drop; a failure no processor handles
 * propagates (as a ProcessorError).
 */
function runList(list: ProcessorList, doc: IngestDocument): void {
  const { processors, heads, next } = list;
  const n = processors.length;
  let i = 0;
  while (i < n) {
    const head = heads[i];
    if (head === undefined) runBody(processors[i]!, doc);
    else {
      // Conjuncts in order (inline: this loop is the hottest code of a run). The first false one skips
      // its group; one that throws leaves the decision (and the failure) to the whole condition.
      let holds: boolean | undefined;
      try {
        holds = head(doc);
      } catch {
        holds = undefined;
      }
      if (holds === false) {
        i = next[i]!;
        continue;
      }
      const processor = processors[i]!;
      const tests = processor.tests!;
      let d = 1;
      if (holds && tests.length > 1) {
        try {
          while ((holds = tests[d]!(doc)) && ++d < tests.length);
        } catch {
          holds = undefined;
        }
        if (holds === false) {
          i = processor.skip![d]!;
          continue;
        }
      }
      if (holds) runBody(processor, doc);
      else executeProcessor(processor, doc);
    }
    if (doc.dropped) return;
    i++;
  }
}

function runOnFailure(processors: ProcessorList, doc: IngestDocument, failure: ProcessorError, pipeline: string | undefined): void {
  const saved = FAILURE_KEYS.map((key) => doc.ingest[key]);
  doc.ingest.on_failure_message = failure.message;
  doc.ingest.on_failure_processor_type = failure.processorType ?? null;
  doc.ingest.on_failure_processor_tag = failure.processorTag ?? null;
  if (pipeline !== undefined || doc.pipelineStack.length > 0) doc.ingest.on_failure_pipeline = pipeline ?? doc.pipelineStack[doc.pipelineStack.length - 1];
  doc.touch();
  try {
    runList(processors, doc);
  } finally {
    FAILURE_KEYS.forEach((key, i) => {
      if (saved[i] === undefined) delete doc.ingest[key];
      else doc.ingest[key] = saved[i];
    });
    doc.touch();
  }
}

export function executePipeline(pipeline: CompiledPipelineBody, doc: IngestDocument): void {
  try {
    runList(pipeline.processors, doc);
  } catch (err) {
    if (!pipeline.onFailure || !(err instanceof ProcessorError)) throw err;
    runOnFailure(pipeline.onFailure, doc, err, pipeline.name);
  }
}
