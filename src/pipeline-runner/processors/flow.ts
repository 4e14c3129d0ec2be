/** Processors that steer the run: drop, fail, foreach, pipeline, script. */
import { FieldPath, ProcessorError, isObject, isReservedKey, javaTypeName, reservedKeyError } from '../document.ts';
import { nativeScript } from '../native-scripts.ts';
import { DefinitionError, type ProcessorFactory } from '../processor.ts';
import { executePipeline, executeProcessor } from '../runtime.ts';
import { compileTemplate, isTemplate } from '../template.ts';
import { readField } from './mutate.ts';

export const drop: ProcessorFactory<'drop'> = () => (doc) => {
  doc.dropped = true;
};

export const fail: ProcessorFactory<'fail'> = (o) => {
  const message = compileTemplate(o.message);
  return (doc) => {
    throw new ProcessorError(message(doc));
  };
};

export const foreach: ProcessorFactory<'foreach'> = (o, ctx) => {
  const field = new FieldPath(o.field);
  const inner = ctx.compileProcessor(o.processor, `${ctx.path}.processor`);
  const nullMessage = `field [${o.field}] is null, cannot loop over its elements.`;
  return (doc) => {
    const value = readField(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    // Nested foreach processors each see their own element; restore the outer one afterwards.
    const outerValue = doc.ingest._value;
    const outerKey = doc.ingest._key;
    try {
      if (Array.isArray(value)) {
        const out: unknown[] = [];
        for (const element of value) {
          doc.ingest._value = element;
          doc.touch(); // the inner condition may read _ingest._value
          executeProcessor(inner, doc);
          if (doc.dropped) return;
          out.push(doc.ingest._value);
        }
        field.set(doc, out);
      } else if (isObject(value)) {
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(value)) {
          doc.ingest._key = key;
          doc.ingest._value = value[key];
          doc.touch();
          executeProcessor(inner, doc);
          if (doc.dropped) return;
          // The key comes from the data (or the inner processor): never one that reaches the prototype.
          const outKey = String(doc.ingest._key);
          if (isReservedKey(outKey)) throw reservedKeyError(outKey, `${o.field}.${outKey}`);
          out[outKey] = doc.ingest._value;
        }
        field.set(doc, out);
      } else {
        throw new ProcessorError(`field [${o.field}] of type [${javaTypeName(value)}] cannot be cast to a list or map`);
      }
    } finally {
      if (outerValue === undefined) delete doc.ingest._value;
      else doc.ingest._value = outerValue;
      if (outerKey === undefined) delete doc.ingest._key;
      else doc.ingest._key = outerKey;
      doc.touch();
    }
  };
};

export const pipeline: ProcessorFactory<'pipeline'> = (o, ctx) => {
  const staticRef = isTemplate(o.name) ? undefined : ctx.pipeline(o.name);
  const name = compileTemplate(o.name);
  return (doc) => {
    const resolved = name(doc);
    let ref = staticRef;
    if (ref === undefined && isTemplate(o.name)) {
      try {
        ref = ctx.pipeline(resolved);
      } catch (err) {
        throw new ProcessorError(`pipeline [${resolved}] is invalid: ${(err as Error).message}`);
      }
    }
    if (!ref?.body) {
      if (o.ignore_missing_pipeline) return;
      throw new ProcessorError(`Pipeline processor configured for non-existent pipeline [${resolved}]`);
    }
    if (doc.pipelineStack.includes(resolved)) throw new ProcessorError(`Cycle detected for pipeline: ${resolved}`);
    doc.pipelineStack.push(resolved);
    try {
      executePipeline(ref.body, doc);
    } finally {
      doc.pipelineStack.pop();
    }
  };
};

export const script: ProcessorFactory<'script'> = (o, ctx) => {
  if (ctx.tag === undefined) {
    throw new DefinitionError('painless cannot run in the in-process runner: give the script a [tag] and register a native implementation with registerNativeScript(tag, fn)', 'tag');
  }
  const fn = nativeScript(ctx.tag);
  if (!fn) {
    throw new DefinitionError(`painless cannot run in the in-process runner and no native implementation is registered for tag [${ctx.tag}] (registerNativeScript('${ctx.tag}', fn))`);
  }
  const params = Object.freeze({ ...o.params });
  return (doc) => fn(doc.source, params);
};
