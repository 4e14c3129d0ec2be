import { compilePipeline, type CompileOptions, type ProcessorDefinition } from '../../src/pipeline-runner/index.ts';

/** Runs `doc` through a pipeline made of `processors`. */
export function runWith(processors: ProcessorDefinition[], doc: Record<string, unknown>, options: CompileOptions = {}) {
  return compilePipeline({ processors }, options).run(doc);
}
