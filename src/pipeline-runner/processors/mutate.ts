/** Processors that move, set, remove or reshape field values. */
import { isIP } from 'node:net';
import { FieldPath, ProcessorError, cloneJson, fieldPathOf, isObject, javaToString, javaTypeName, type JsonObject } from '../document.ts';
import type { IngestDocument } from '../document.ts';
import { javaRegex, javaReplacement, javaSplit } from '../java-regex.ts';
import type { ProcessorBody, ProcessorFactory } from '../processor.ts';
import { compileFieldRef, compileValue, containsTemplate, isTemplate } from '../template.ts';

export function notPresent(path: string): ProcessorError {
  const leaf = path.split('.').pop();
  return new ProcessorError(`field [${leaf}] not present as part of path [${path}]`);
}

/**
 * Reads the option `field` of a processor with `ignore_missing`: returns undefined when the run
 * should skip (missing/null and ignored), throws ES's messages otherwise.
 */
export function readField(doc: IngestDocument, field: FieldPath, ignoreMissing: boolean, nullMessage: string): unknown {
  const value = field.get(doc);
  if (value === undefined || value === null) {
    if (ignoreMissing) return undefined;
    if (value === undefined) throw notPresent(field.path);
    throw new ProcessorError(nullMessage);
  }
  return value;
}

/** lowercase/uppercase/trim/urldecode: strings and lists of strings, ES's AbstractStringProcessor. */
function stringBody(o: { field: string; target_field?: string | undefined; ignore_missing: boolean }, fn: (s: string) => string): ProcessorBody {
  const field = new FieldPath(o.field);
  const target = new FieldPath(o.target_field ?? o.field);
  const castError = (v: unknown) => new ProcessorError(`field [${o.field}] of type [${javaTypeName(v)}] cannot be cast to [java.lang.String]`);
  const nullMessage = `field [${o.field}] is null, cannot process it.`;
  return (doc) => {
    const value = readField(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    if (typeof value === 'string') target.set(doc, fn(value));
    else if (Array.isArray(value)) {
      target.set(
        doc,
        value.map((item) => {
          if (typeof item !== 'string') throw castError(item);
          return fn(item);
        }),
      );
    } else throw castError(value);
  };
}

function urlDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new ProcessorError(`Could not decode URL [${text}]: malformed escape sequence`);
  }
}

export const lowercase: ProcessorFactory<'lowercase'> = (o) => stringBody(o, (s) => s.toLowerCase());
export const uppercase: ProcessorFactory<'uppercase'> = (o) => stringBody(o, (s) => s.toUpperCase());
export const trim: ProcessorFactory<'trim'> = (o) => stringBody(o, (s) => s.trim());
export const urldecode: ProcessorFactory<'urldecode'> = (o) => stringBody(o, urlDecode);

export const set: ProcessorFactory<'set'> = (o) => {
  const field = compileFieldRef(o.field);
  const copyFrom = o.copy_from === undefined ? undefined : new FieldPath(o.copy_from);
  const value = o.value === undefined ? undefined : compileValue(o.value);
  // `set` is most of every pipeline; its most common shape (fixed field, scalar value, override) is
  // a single write.
  const scalar = o.value === null || typeof o.value === 'string' || typeof o.value === 'number' || typeof o.value === 'boolean';
  if (o.override && !copyFrom && scalar && !isTemplate(o.field) && !isTemplate(String(o.value)) && !(o.ignore_empty_value && (o.value === null || o.value === ''))) {
    const path = new FieldPath(o.field);
    const constant = o.value;
    return (doc) => path.set(doc, constant);
  }
  const fixed = isTemplate(o.field) ? undefined : new FieldPath(o.field);
  if (fixed && o.override && !copyFrom && typeof o.value === 'object' && o.value !== null && !containsTemplate(o.value)) {
    // A constant list or map (`value: [process]`): a fresh copy per document, as compileValue gives.
    const constant = o.value;
    return (doc) => fixed.set(doc, cloneJson(constant));
  }
  return (doc) => {
    const path = fixed ?? field(doc);
    if (!o.override) {
      const existing = path.get(doc);
      if (existing !== undefined && existing !== null) return false;
    }
    let next: unknown;
    if (copyFrom) {
      next = copyFrom.get(doc);
      if (next === undefined && !o.ignore_empty_value) throw notPresent(copyFrom.path);
      next = cloneJson(next);
    } else next = value!(doc);
    if (o.ignore_empty_value && (next === undefined || next === null || next === '')) return false;
    path.set(doc, next);
  };
};

export const append: ProcessorFactory<'append'> = (o) => {
  const field = compileFieldRef(o.field);
  const value = compileValue(o.value);
  return (doc) => {
    const rendered = value(doc);
    field(doc).append(doc, Array.isArray(rendered) ? rendered : [rendered], o.allow_duplicates);
  };
};

export const remove: ProcessorFactory<'remove'> = (o) => {
  if (o.keep) {
    const keep = o.keep.map((k) => k.split('.'));
    return (doc) => keepOnly(doc.source, keep);
  }
  const fields = (o.field ?? []).map(compileFieldRef);
  return (doc) => {
    let removed = false;
    for (const field of fields) {
      const path = field(doc);
      if (path.remove(doc)) removed = true;
      else if (!o.ignore_missing) throw notPresent(path.path);
    }
    if (!removed) return false;
  };
};

/** `remove.keep`: drops every field that is neither kept nor on the way to a kept field. */
function keepOnly(object: JsonObject, keep: string[][]): void {
  for (const key of Object.keys(object)) {
    const below = keep.filter((k) => k[0] === key);
    if (below.length === 0) delete object[key];
    else if (!below.some((k) => k.length === 1) && isObject(object[key])) keepOnly(object[key], below.map((k) => k.slice(1)));
  }
}

/** Moves a field as ES `rename` does; false when it was missing and that is allowed. */
function moveField(doc: IngestDocument, from: FieldPath, to: FieldPath, o: { ignore_missing: boolean; override: boolean }): false | void {
  const value = from.get(doc);
  if (value === undefined) {
    if (o.ignore_missing) return false;
    throw new ProcessorError(`field [${from.path}] doesn't exist`);
  }
  if (!o.override && to.get(doc) !== undefined) throw new ProcessorError(`field [${to.path}] already exists`);
  from.remove(doc);
  try {
    to.set(doc, value);
  } catch (err) {
    from.set(doc, value); // ES restores the source field when the target cannot be set
    throw err;
  }
}

export const rename: ProcessorFactory<'rename'> = (o) => {
  if (!isTemplate(o.field) && !isTemplate(o.target_field)) {
    // Fixed paths (nearly every rename): resolved once, not per document.
    const from = new FieldPath(o.field);
    const to = new FieldPath(o.target_field);
    return (doc) => moveField(doc, from, to, o);
  }
  const field = compileFieldRef(o.field);
  const target = compileFieldRef(o.target_field);
  return (doc) => moveField(doc, field(doc), target(doc), o);
};

const INT_RE = /^[+-]?\d+$/;
const HEX_RE = /^([+-]?)0[xX]([0-9a-fA-F]+)$/;
const FLOAT_RE = /^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?$/;

function parseInteger(text: string, bits: 32 | 64): number | undefined {
  let n: number;
  const hex = HEX_RE.exec(text);
  if (hex) n = (hex[1] === '-' ? -1 : 1) * parseInt(hex[2]!, 16);
  else if (INT_RE.test(text)) n = Number(text);
  else return undefined;
  const limit = bits === 32 ? 2147483648 : 9223372036854775808;
  return n >= -limit && n < limit ? n : undefined;
}

function parseFloatJava(text: string): number | undefined {
  const trimmed = text.trim();
  if (!FLOAT_RE.test(trimmed)) return undefined;
  return Number(trimmed.replace(/[fFdD]$/, '').replace(/^([+-]?)Infinity$/, '$1Infinity'));
}

type Converter = (value: unknown) => unknown;

function converter(type: string): Converter {
  const fail = (value: unknown): never => {
    throw new ProcessorError(`unable to convert [${javaToString(value)}] to ${type}`);
  };
  switch (type) {
    case 'integer':
    case 'long': {
      const bits = type === 'integer' ? 32 : 64;
      return (v) => (typeof v === 'number' && Number.isInteger(v) ? v : parseInteger(javaToString(v), bits) ?? fail(v));
    }
    case 'float':
    case 'double':
      return (v) => (typeof v === 'number' ? v : parseFloatJava(javaToString(v)) ?? fail(v));
    case 'boolean':
      return (v) => {
        if (typeof v === 'boolean') return v;
        const s = javaToString(v).toLowerCase();
        if (s === 'true') return true;
        if (s === 'false') return false;
        throw new ProcessorError(`[${javaToString(v)}] is not a boolean value, cannot convert to boolean`);
      };
    case 'string':
      return (v) => javaToString(v);
    case 'ip':
      return (v) => {
        const s = javaToString(v);
        if (isIP(s) === 0) throw new ProcessorError(`'${s}' is not an IP string literal.`);
        return s;
      };
    default:
      // auto: the closest non-string type, else the value unchanged (never a failure).
      return (v) => {
        if (typeof v !== 'string') return v;
        const asInt = parseInteger(v, 64);
        if (asInt !== undefined) return asInt;
        const asFloat = parseFloatJava(v);
        if (asFloat !== undefined) return asFloat;
        if (v.toLowerCase() === 'true') return true;
        if (v.toLowerCase() === 'false') return false;
        return v;
      };
  }
}

export const convert: ProcessorFactory<'convert'> = (o) => {
  const field = new FieldPath(o.field);
  const target = new FieldPath(o.target_field ?? o.field);
  const convertOne = converter(o.type);
  const nullMessage = `Field [${o.field}] is null, cannot be converted to type [${o.type}]`;
  return (doc) => {
    const value = readField(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    target.set(doc, Array.isArray(value) ? value.map(convertOne) : convertOne(value));
  };
};

export const gsub: ProcessorFactory<'gsub'> = (o) => {
  const pattern = javaRegex(o.pattern, 'g');
  const replacement = javaReplacement(o.replacement);
  return stringBody(o, (s) => s.replace(pattern, replacement));
};

export const join: ProcessorFactory<'join'> = (o) => {
  const field = new FieldPath(o.field);
  const target = new FieldPath(o.target_field ?? o.field);
  return (doc) => {
    const value = field.require(doc);
    if (!Array.isArray(value)) throw new ProcessorError(`field [${o.field}] of type [${javaTypeName(value)}] cannot be cast to [java.util.List]`);
    target.set(doc, value.map(javaToString).join(o.separator));
  };
};

export const split: ProcessorFactory<'split'> = (o) => {
  const field = new FieldPath(o.field);
  const target = new FieldPath(o.target_field ?? o.field);
  const separator = javaRegex(o.separator);
  const nullMessage = `field [${o.field}] is null, cannot split.`;
  return (doc) => {
    const value = readField(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    if (typeof value !== 'string') throw new ProcessorError(`field [${o.field}] of type [${javaTypeName(value)}] cannot be cast to [java.lang.String]`);
    target.set(doc, javaSplit(value, separator, o.preserve_trailing));
  };
};

export const dot_expander: ProcessorFactory<'dot_expander'> = (o) => {
  const parentPath = o.path === undefined ? undefined : new FieldPath(o.path);
  const expandOne = (doc: IngestDocument, parent: JsonObject, key: string): void => {
    if (!key.includes('.') || !Object.prototype.hasOwnProperty.call(parent, key)) return;
    // The key comes from the data: a reserved segment in it fails here, before the dotted field is moved.
    const target = fieldPathOf(o.path ? `${o.path}.${key}` : key);
    const value = parent[key];
    delete parent[key];
    // An existing value is kept and the expanded one appended, unless override is set (ES).
    if (target.get(doc) !== undefined && !o.override) target.append(doc, [value], true);
    else target.set(doc, value);
  };
  return (doc) => {
    const parent = parentPath ? parentPath.get(doc) : doc.source;
    if (!isObject(parent)) return;
    if (o.field === '*') for (const key of Object.keys(parent)) expandOne(doc, parent, key);
    else expandOne(doc, parent, o.field);
  };
};
