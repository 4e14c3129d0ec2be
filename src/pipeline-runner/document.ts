/**
 * The document a pipeline works on, and Elasticsearch's dotted field-path semantics:
 * `a.b.c` walks nested objects (a key that itself contains a dot is NOT found, exactly as in
 * ES before `dot_expander`), a numeric segment indexes into an array, `_index`/`_id`/... address
 * the document's metadata and `_ingest.*` the per-run ingest metadata.
 */

import { isReservedKey, RESERVED_KEYS_RULE } from '../reserved-keys.ts';

export type JsonObject = { [key: string]: unknown };

/** Raised by a processor; the runner turns it into ES failure semantics (on_failure etc.). */
export class ProcessorError extends Error {
  /** Set once by the innermost processor that failed, like ES's processor_type/tag headers. */
  processorType?: string;
  processorTag?: string;
  constructor(message: string) {
    super(message);
    this.name = 'ProcessorError';
  }
}

/** Keys that address the document's metadata rather than its source. */
export const METADATA_FIELDS = new Set(['_index', '_id', '_routing', '_version', '_version_type', '_if_seq_no', '_if_primary_term', '_dynamic_templates']);

const hasOwn = Object.prototype.hasOwnProperty;

export { isReservedKey };

/** The per-event failure for a reserved key; `where` names the field path or the JSON path it was found at. */
export function reservedKeyError(key: string, where: string): ProcessorError {
  return new ProcessorError(`field path [${where}] uses the reserved name [${key}]: ${RESERVED_KEYS_RULE}`);
}

/** Writes `key` as an own data property even when it is `__proto__` (plain assignment would replace the prototype). */
export function setOwn(target: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Source of IngestDocument.epoch values: increases on every change, never repeats across documents. */
let epochCounter = 0;

export class IngestDocument {
  dropped = false;
  /**
   * Changes whenever the document may have changed (a processor body ran, the runtime set `_ingest`
   * keys); unique across documents. Conditions cache field reads per epoch: a run of processors whose
   * conditions are false leaves the document untouched, so they share those reads.
   */
  epoch = ++epochCounter;
  /** Names of the pipelines being executed, innermost last (cycle detection, on_failure_pipeline). */
  readonly pipelineStack: string[] = [];
  constructor(
    public source: JsonObject,
    public readonly meta: JsonObject,
    public readonly ingest: JsonObject,
  ) {}

  /** Marks the document as (possibly) changed; see `epoch`. */
  touch(): void {
    this.epoch = ++epochCounter;
  }
}

const enum Root {
  Source,
  Meta,
  Ingest,
}

/** A field path split once at compile time; the hot path never re-parses it. */
export class FieldPath {
  private readonly root: Root;
  /** Segments below the root (for metadata: the single metadata key). */
  readonly segments: readonly string[];
  /** Per segment, the list index it denotes when the value there is a list (`Number(segment)`), else -1. */
  private readonly indexes: readonly number[];
  constructor(readonly path: string) {
    if (path.length === 0) throw new ProcessorError('path cannot be null nor empty');
    let parts = path.split('.');
    if (parts[0] === '_ingest') {
      this.root = Root.Ingest;
      parts = parts.slice(1);
    } else if (parts[0] === '_source') {
      this.root = Root.Source;
      parts = parts.slice(1);
    } else if (parts.length === 1 && METADATA_FIELDS.has(path)) {
      this.root = Root.Meta;
    } else {
      this.root = Root.Source;
    }
    if (parts.length === 0 || parts.some((p) => p.length === 0)) throw new ProcessorError(`path [${path}] is not valid`);
    for (const part of parts) if (isReservedKey(part)) throw reservedKeyError(part, path);
    this.segments = parts;
    this.indexes = parts.map((p) => {
      const index = Number(p);
      return Number.isInteger(index) && index >= 0 ? index : -1;
    });
  }

  /**
   * For a source path of two or more segments whose second segment cannot index a list (`winlog.process.pid`):
   * its first segment, the key under which the source must hold a map (not null, a scalar, a list or a
   * Date) for the path to resolve at all. Undefined for any other path.
   */
  get mapRoot(): string | undefined {
    if (this.root !== Root.Source || this.segments.length < 2) return undefined;
    const index = Number(this.segments[1]);
    return Number.isInteger(index) && index >= 0 ? undefined : this.segments[0];
  }

  /** The value, or `undefined` when any part of the path is absent. */
  get(doc: IngestDocument): unknown {
    return this.walk(doc, this.segments.length);
  }

  /**
   * Follows the first `depth` segments from the root: a list is indexed by a numeric segment, a map read only
   * for its own keys, anything else has no fields. `undefined` when any of them is absent.
   */
  private walk(doc: IngestDocument, depth: number): unknown {
    let current: unknown = this.root === Root.Source ? doc.source : this.root === Root.Meta ? doc.meta : doc.ingest;
    const segments = this.segments;
    for (let i = 0; i < depth; i++) {
      if (typeof current !== 'object' || current === null) return undefined;
      if (Array.isArray(current)) {
        const index = this.indexes[i]!;
        current = index >= 0 ? current[index] : undefined;
      } else {
        const segment = segments[i]!;
        current = hasOwn.call(current, segment) ? (current as JsonObject)[segment] : undefined;
      }
      if (current === undefined) return undefined;
    }
    return current;
  }

  has(doc: IngestDocument): boolean {
    return this.get(doc) !== undefined;
  }

  /** Like `get`, but a missing field is an ES-worded failure. */
  require(doc: IngestDocument): unknown {
    const value = this.get(doc);
    if (value === undefined) throw new ProcessorError(`field [${this.segments[this.segments.length - 1]}] not present as part of path [${this.path}]`);
    return value;
  }

  /** Sets the value, creating intermediate objects; fails when a parent is not an object or array. */
  set(doc: IngestDocument, value: unknown): void {
    let current: unknown = this.root === Root.Source ? doc.source : this.root === Root.Meta ? doc.meta : doc.ingest;
    const segments = this.segments;
    const last = segments.length - 1;
    for (let i = 0; i < last; i++) {
      const segment = segments[i]!;
      if (typeof current === 'object' && current !== null) {
        if (Array.isArray(current)) {
          current = current[arrayIndex(current, segment, this.path)];
          continue;
        }
        if (!(current instanceof Date)) {
          // An object (or list) goes on; a missing or null value becomes a new object; anything else fails below.
          // Only own keys count: an inherited one (`toString`) is as missing as it is for `get`.
          let next = hasOwn.call(current, segment) ? (current as JsonObject)[segment] : undefined;
          if (next === undefined || next === null) {
            next = {};
            (current as JsonObject)[segment] = next;
          }
          current = next;
          continue;
        }
      }
      throw parentTypeError(segment, current, this.path);
    }
    const leaf = segments[last]!;
    if (Array.isArray(current)) {
      current[arrayIndex(current, leaf, this.path)] = value;
    } else if (isObject(current)) {
      current[leaf] = value;
    } else {
      throw parentTypeError(leaf, current, this.path);
    }
  }

  /** Appends like ES `appendFieldValue`: scalars become a list, lists are extended. */
  append(doc: IngestDocument, values: unknown[], allowDuplicates: boolean): void {
    const existing = this.get(doc);
    if (existing === undefined && values.length === 1) {
      // A new one-element list, allocated at its size (a pushed-to empty list reserves room for 17).
      this.set(doc, [values[0]]);
      return;
    }
    const list: unknown[] = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    for (const value of values) {
      if (!allowDuplicates && list.some((item) => deepEqual(item, value))) continue;
      list.push(value);
    }
    if (list !== existing) this.set(doc, list);
  }

  /** Removes the field; returns false when it was not there. */
  remove(doc: IngestDocument): boolean {
    const last = this.segments.length - 1;
    const current = this.walk(doc, last);
    if (current === undefined) return false;
    const leaf = this.segments[last]!;
    if (Array.isArray(current)) {
      const index = Number(leaf);
      if (!Number.isInteger(index) || index < 0 || index >= current.length) return false;
      current.splice(index, 1);
      return true;
    }
    if (!isObject(current)) return false;
    if (hasOwn.call(current, leaf)) {
      delete current[leaf];
      return true;
    }
    // An inherited name (`toString`): `delete` removes nothing, and it has always been reported as removed.
    return leaf in current;
  }
}

const fieldPathCache = new Map<string, FieldPath>();

/**
 * The FieldPath for a name known only at run time (templated field names, dissect and kv keys):
 * FieldPaths are immutable, so a small bounded cache saves re-splitting the same names per document.
 * An invalid name still throws, every time.
 */
export function fieldPathOf(name: string): FieldPath {
  let path = fieldPathCache.get(name);
  if (path === undefined) {
    path = new FieldPath(name);
    if (fieldPathCache.size >= 2000) fieldPathCache.clear();
    fieldPathCache.set(name, path);
  }
  return path;
}

function arrayIndex(list: unknown[], segment: string, path: string): number {
  const index = Number(segment);
  if (!Number.isInteger(index) || index < 0) throw new ProcessorError(`[${segment}] is not an integer, cannot be used as an index as part of path [${path}]`);
  if (index >= list.length) throw new ProcessorError(`[${index}] is out of bounds for array with length [${list.length}] as part of path [${path}]`);
  return index;
}

function parentTypeError(segment: string, parent: unknown, path: string): ProcessorError {
  return new ProcessorError(`cannot set [${segment}] with parent object of type [${javaTypeName(parent)}] as part of path [${path}]`);
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** The Java class name ES would print for a value, so error messages read the same. */
export function javaTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return 'java.lang.String';
  if (typeof value === 'boolean') return 'java.lang.Boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? (Math.abs(value) <= 2147483647 ? 'java.lang.Integer' : 'java.lang.Long') : 'java.lang.Double';
  if (Array.isArray(value)) return 'java.util.ArrayList';
  return 'java.util.LinkedHashMap';
}

/** Deep copy of JSON-like data; much faster than structuredClone for small documents. */
export function cloneJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneJson(value[i]);
    return out as T;
  }
  if (value instanceof Date) return new Date(value.getTime()) as T;
  const copy: JsonObject = {};
  // for-in + own check visits exactly Object.keys(value), in the same order, without the keys array.
  // An own `__proto__` key (JSON.parse makes one) stays an own key of the copy, never its prototype.
  for (const key in value) {
    if (!hasOwn.call(value, key)) continue;
    if (key === '__proto__') setOwn(copy, key, cloneJson((value as JsonObject)[key]));
    else copy[key] = cloneJson((value as JsonObject)[key]);
  }
  return copy as T;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as JsonObject)[k], (b as JsonObject)[k]));
}

/** How ES/Java renders a value inside a message or template (`[a, b]`, `{k=v}`). */
export function javaToString(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(javaToString).join(', ')}]`;
  if (isObject(value)) return `{${Object.keys(value).map((k) => `${k}=${javaToString(value[k])}`).join(', ')}}`;
  return String(value);
}
