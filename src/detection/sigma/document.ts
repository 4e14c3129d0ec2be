import { canonicalIp, parseIp, type ParsedIp } from './ip.ts';

/** An ECS event as it arrives: nested objects, dotted keys, or a mix of both. */
export type EcsDocument = Record<string, unknown>;

/** Field paths interned to small integers, so an event's per-field cache is a plain array. */
export class FieldTable {
  private readonly ids = new Map<string, number>();
  /** Per field: the keys to try at each depth (see PathKeys). */
  readonly paths: PathKeys[] = [];

  intern(path: string): number {
    let id = this.ids.get(path);
    if (id === undefined) {
      id = this.paths.length;
      this.ids.set(path, id);
      this.paths.push(pathKeys(path.split('.')));
    }
    return id;
  }

  get size(): number {
    return this.paths.length;
  }
}

/**
 * The values of one field in one event, converted once and shared by every rule that reads
 * the field: raw strings, lower-cased strings, numbers and IPs are each computed on first use.
 */
export class FieldValues {
  private lowerCache: string[] | undefined;
  private numberCache: number[] | undefined;
  private ipCache: (ParsedIp | undefined)[] | undefined;
  private canonicalCache: (string | undefined)[] | undefined;

  constructor(
    /** Non-null values that have a string form. */
    readonly raw: string[],
    /** True when the field holds any non-null value (objects included). */
    readonly present: boolean,
  ) {}

  get lower(): string[] {
    return (this.lowerCache ??= this.raw.map((v) => v.toLowerCase()));
  }

  get numbers(): number[] {
    return (this.numberCache ??= this.raw.map((v) => (v.trim() === '' ? NaN : Number(v))).filter((n) => !Number.isNaN(n)));
  }

  get ips(): (ParsedIp | undefined)[] {
    return (this.ipCache ??= this.raw.map(parseIp));
  }

  get canonicalIps(): (string | undefined)[] {
    return (this.canonicalCache ??= this.raw.map(canonicalIp));
  }
}

const EMPTY = new FieldValues([], false);

/**
 * A dotted path's candidate keys, built once: `keys[i][k]` is parts i..i+k joined with dots, so reading
 * `a.b.c` tries `a`, `a.b`, `a.b.c` at the top level (nested, dotted and mixed shapes) without building
 * a string per event.
 */
type PathKeys = string[][];

function pathKeys(parts: string[]): PathKeys {
  return parts.map((_, i) => parts.slice(i).map((__, k) => parts.slice(i, i + k + 1).join('.')));
}

function collect(node: unknown, keys: PathKeys, i: number, out: { values: string[]; present: boolean }): void {
  if (Array.isArray(node)) {
    // Lists of lists flatten as Elasticsearch flattens them. Walked with a stack, not recursion: an agent can nest
    // lists thousands deep, while an object step always advances along the path (so that recursion is bounded).
    const stack: unknown[] = [node];
    while (stack.length > 0) {
      const item = stack.pop();
      if (Array.isArray(item)) for (let n = item.length - 1; n >= 0; n--) stack.push(item[n]);
      else collect(item, keys, i, out);
    }
    return;
  }
  if (i === keys.length) {
    if (node === null || node === undefined) return;
    out.present = true;
    if (typeof node === 'string') out.values.push(node);
    else if (typeof node === 'number' || typeof node === 'boolean' || typeof node === 'bigint') out.values.push(String(node));
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  const here = keys[i]!;
  for (let k = 0; k < here.length; k++) {
    const key = here[k]!;
    if (Object.prototype.hasOwnProperty.call(obj, key)) collect(obj[key], keys, i + k + 1, out);
  }
}

/** Read-through cache of one event's fields for the duration of its evaluation. */
export class EventView {
  private readonly cache: (FieldValues | undefined)[];

  constructor(
    private readonly table: FieldTable,
    readonly doc: EcsDocument,
  ) {
    this.cache = new Array<FieldValues | undefined>(table.size);
  }

  get(id: number): FieldValues {
    let v = this.cache[id];
    if (v === undefined) {
      const out = { values: [] as string[], present: false };
      collect(this.doc, this.table.paths[id]!, 0, out);
      v = out.present ? new FieldValues(out.values, true) : EMPTY;
      this.cache[id] = v;
    }
    return v;
  }
}

/** One-off field read (tests, tools): all string forms of a dotted path. */
export function readField(doc: EcsDocument, path: string): string[] {
  const out = { values: [] as string[], present: false };
  collect(doc, pathKeys(path.split('.')), 0, out);
  return out.values;
}
