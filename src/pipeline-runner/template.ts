/**
 * The mustache subset ES ingest processors use in values and field names: `{{name}}` and
 * `{{{name}}}` with dotted names resolved like field paths (`_ingest.*`, `_index`, `a.b`).
 * ES compiles ingest templates with its JSON encoder, so `{{x}}` JSON-escapes the value
 * (quotes, backslashes, control characters) and `{{{x}}}` inserts it raw. Sections, partials
 * and lambdas are rejected at compile time rather than silently rendered wrong.
 */
import { FieldPath, IngestDocument, cloneJson, fieldPathOf, isObject, isReservedKey, javaToString, reservedKeyError } from './document.ts';

export type Template = (doc: IngestDocument) => string;

const TAG = /\{\{(\{?)\s*([^{}]*?)\s*\}?\}\}/g;

export class TemplateSyntaxError extends Error {}

export function isTemplate(text: string): boolean {
  return text.includes('{{');
}

export function compileTemplate(text: string): Template {
  if (!isTemplate(text)) return () => text;
  const parts: Array<string | { path: FieldPath; raw: boolean }> = [];
  let last = 0;
  for (const match of text.matchAll(TAG)) {
    const [whole, triple, name = ''] = match;
    const start = match.index ?? 0;
    if (start > last) parts.push(text.slice(last, start));
    last = start + whole.length;
    if (/^[#^/!>&=]/.test(name)) throw new TemplateSyntaxError(`mustache tag [${whole}] is not supported (only {{field}} and {{{field}}})`);
    if (triple === '{' && !whole.endsWith('}}}')) throw new TemplateSyntaxError(`unbalanced mustache tag [${whole}]`);
    if (name === '' || !/^[^\s]+$/.test(name)) throw new TemplateSyntaxError(`invalid mustache variable [${whole}]`);
    parts.push({ path: new FieldPath(name), raw: triple === '{' });
  }
  if (last < text.length) parts.push(text.slice(last));
  if (parts.some((p) => typeof p === 'string' && p.includes('{{'))) throw new TemplateSyntaxError(`unbalanced mustache tag in [${text}]`);
  // The pipelines are full of `"{{{a.b}}}"`: one field, nothing around it. Render that without the loop.
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only !== undefined && typeof only !== 'string') {
    const { path, raw } = only;
    return (doc) => {
      const value = path.get(doc);
      if (value === undefined || value === null) return '';
      const text = typeof value === 'string' ? value : javaToString(value);
      return raw ? text : jsonEscape(text);
    };
  }
  return (doc) => {
    let out = '';
    for (const part of parts) {
      if (typeof part === 'string') out += part;
      else {
        const value = part.path.get(doc);
        if (value === undefined || value === null) continue;
        const text = javaToString(value);
        out += part.raw ? text : jsonEscape(text);
      }
    }
    return out;
  };
}

/**
 * The fields of a template made of tags only (`{{{a.b}}}{{{a.c}}}`, no literal text): it renders '' exactly
 * when each of them is missing or null. Undefined for any other text (or an invalid template).
 */
export function templateOnlyFields(text: string): FieldPath[] | undefined {
  if (!isTemplate(text)) return undefined;
  const fields: FieldPath[] = [];
  let last = 0;
  for (const match of text.matchAll(TAG)) {
    const [whole, triple, name = ''] = match;
    if (match.index !== last) return undefined;
    last += whole.length;
    if (/^[#^/!>&=]/.test(name) || (triple === '{' && !whole.endsWith('}}}')) || name === '' || !/^[^\s]+$/.test(name)) return undefined;
    try {
      fields.push(new FieldPath(name));
    } catch {
      return undefined;
    }
  }
  return last === text.length ? fields : undefined;
}

function jsonEscape(text: string): string {
  // JSON.stringify escapes exactly the characters ES's JSON encoder does; drop its quotes.
  return /["\\\u0000-\u001f]/.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

/**
 * A value option (set.value, append.value): strings are templates, lists and maps are
 * templated recursively, other scalars are returned as they are — like ES's ValueSource.
 */
export type ValueSource = (doc: IngestDocument) => unknown;

export function compileValue(value: unknown): ValueSource {
  if (typeof value === 'string') {
    if (!isTemplate(value)) return () => value;
    const template = compileTemplate(value);
    return template;
  }
  if (Array.isArray(value)) {
    if (!containsTemplate(value)) return () => cloneJson(value);
    const items = value.map(compileValue);
    return (doc) => items.map((item) => item(doc));
  }
  if (isObject(value)) {
    if (!containsTemplate(value)) return () => cloneJson(value);
    const entries = Object.keys(value).map((key) => [compileTemplate(key), compileValue(value[key])] as const);
    return (doc) => {
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) {
        // A templated key renders data: never one that reaches the prototype.
        const name = key(doc);
        if (isReservedKey(name)) throw reservedKeyError(name, name);
        out[name] = item(doc);
      }
      return out;
    };
  }
  return () => value;
}

export function containsTemplate(value: unknown): boolean {
  if (typeof value === 'string') return isTemplate(value);
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (isObject(value)) return Object.keys(value).some((k) => isTemplate(k) || containsTemplate(value[k]));
  return false;
}

/** A field-name option that may itself be a template (`field: "{{service}}.count"`). */
export type FieldRef = (doc: IngestDocument) => FieldPath;

export function compileFieldRef(name: string): FieldRef {
  if (!isTemplate(name)) {
    const path = new FieldPath(name);
    return () => path;
  }
  const template = compileTemplate(name);
  return (doc) => fieldPathOf(template(doc));
}
