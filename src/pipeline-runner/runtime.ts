/**
 * Execution semantics of ES ingest: conditions, ignore_failure, processor-level on_failure
 * (the pipeline continues afterwards), pipeline-level on_failure (the pipeline stops after it),
 * and the `_ingest.on_failure_*` metadata visible to on_failure processors.
 */
import { ConditionRuntimeError } from './condition.ts';
import { IngestDocument, ProcessorError } from './document.ts';
import type { CompiledPipelineBody, CompiledProcessor } from './processor.ts';

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

export function executeProcessor(processor: CompiledProcessor, doc: IngestDocument): void {
  try {
    if (processor.condition && !processor.condition(doc)) return;
    // The body may change the document at any point, including in nested processors and on failure.
    doc.touch();
    processor.body(doc);
    doc.touch();
  } catch (err) {
    doc.touch();
    if (processor.ignoreFailure) return;
    const failure = asProcessorError(err, processor);
    if (!processor.onFailure) throw failure;
    runOnFailure(processor.onFailure, doc, failure, undefined);
  }
}

function runOnFailure(processors: readonly CompiledProcessor[], doc: IngestDocument, failure: ProcessorError, pipeline: string | undefined): void {
  const saved = FAILURE_KEYS.map((key) => doc.ingest[key]);
  doc.ingest.on_failure_message = failure.message;
  doc.ingest.on_failure_processor_type = failure.processorType ?? null;
  doc.ingest.on_failure_processor_tag = failure.processorTag ?? null;
  if (pipeline !== undefined || doc.pipelineStack.length > 0) doc.ingest.on_failure_pipeline = pipeline ?? doc.pipelineStack[doc.pipelineStack.length - 1];
  doc.touch();
  try {
    for (const processor of processors) {
      executeProcessor(processor, doc);
      if (doc.dropped) return;
    }
  } finally {
    FAILURE_KEYS.forEach((key, i) => {
      if (saved[i] === undefined) delete doc.ingest[key];
      else doc.ingest[key] = saved[i];
    });
    doc.touch();
  }
}

export function executePipeline(pipeline: CompiledPipelineBody, doc: IngestDocument): void {
  for (const processor of pipeline.processors) {
    try {
      executeProcessor(processor, doc);
    } catch (err) {
      if (!pipeline.onFailure || !(err instanceof ProcessorError)) throw err;
      runOnFailure(pipeline.onFailure, doc, err, pipeline.name);
      return;
    }
    if (doc.dropped) return;
  }
}
