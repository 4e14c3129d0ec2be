/**
 * The processor types a pipeline body uses, including those nested in on_failure and foreach.
 * (The in-process runner has its own, richer view; this one only needs the type names.)
 */
export function pipelineProcessorsUsed(pipeline: { processors: Array<Record<string, unknown>>; on_failure?: Array<Record<string, unknown>> }): Set<string> {
  const used = new Set<string>();
  const visit = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const p of list) {
      if (!p || typeof p !== 'object') continue;
      for (const [type, options] of Object.entries(p as Record<string, unknown>)) {
        used.add(type);
        if (options && typeof options === 'object') {
          const o = options as Record<string, unknown>;
          visit(o.on_failure);
          if (type === 'foreach' && o.processor) visit([o.processor]);
          if (type === 'script' && (o.lang === undefined || o.lang === 'painless')) used.add('script');
        }
      }
    }
  };
  visit(pipeline.processors);
  visit(pipeline.on_failure);
  return used;
}
