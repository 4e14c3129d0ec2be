// The invariants the fuzzer checks, as plain functions: each throws InvariantError naming what broke.

/** A broken invariant: which one, and what was seen. */
export class InvariantError extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = 'InvariantError';
  }
}

export function invariant(condition: unknown, name: string, detail: () => string): asserts condition {
  if (!condition) throw new InvariantError(name, detail());
}

/** Shortens a value or message for one line of a report. */
export function brief(value: unknown, max = 200): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Describes anything thrown, first stack frame included, so "threw RangeError" says where. */
export function describeThrown(err: unknown): string {
  if (!(err instanceof Error)) return `a non-Error value ${brief(err)}`;
  const frame = err.stack
    ?.split('\n')
    .find((l) => l.trim().startsWith('at '))
    ?.trim()
    .replaceAll(`${process.cwd()}/`, '');
  return `${err.name}: ${brief(err.message, 300)}${frame ? ` (${frame})` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Global objects: nothing an event carries may change a prototype or a built-in namespace.

const WATCHED_GLOBALS: ReadonlyArray<readonly [string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
  ['Number.prototype', Number.prototype],
  ['Boolean.prototype', Boolean.prototype],
  ['Symbol.prototype', Symbol.prototype],
  ['RegExp.prototype', RegExp.prototype],
  ['Date.prototype', Date.prototype],
  ['Error.prototype', Error.prototype],
  ['Map.prototype', Map.prototype],
  ['Set.prototype', Set.prototype],
  ['Promise.prototype', Promise.prototype],
  ['Object', Object],
  ['Array', Array],
  ['JSON', JSON],
  ['Math', Math],
  ['Reflect', Reflect],
];

interface ObjectSnapshot {
  name: string;
  target: object;
  prototype: object | null;
  extensible: boolean;
  properties: Map<string | symbol, PropertyDescriptor>;
}

/** The own property names and descriptors of every watched global, to compare against later. */
export type GlobalsSnapshot = ObjectSnapshot[];

export function snapshotGlobals(): GlobalsSnapshot {
  return WATCHED_GLOBALS.map(([name, target]) => ({
    name,
    target,
    prototype: Object.getPrototypeOf(target) as object | null,
    extensible: Object.isExtensible(target),
    properties: new Map(Reflect.ownKeys(target).map((k) => [k, Object.getOwnPropertyDescriptor(target, k)!])),
  }));
}

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor): boolean {
  return Object.is(a.value, b.value) && a.get === b.get && a.set === b.set && a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable;
}

/** Every difference from the snapshot, one readable line each; empty when nothing changed. */
export function globalChanges(before: GlobalsSnapshot): string[] {
  const changes: string[] = [];
  for (const snap of before) {
    const { name, target } = snap;
    if (Object.getPrototypeOf(target) !== snap.prototype) changes.push(`${name}'s prototype was replaced`);
    if (Object.isExtensible(target) !== snap.extensible) changes.push(`${name} was sealed or frozen`);
    const now = Reflect.ownKeys(target);
    for (const key of now) {
      const was = snap.properties.get(key);
      const is = Object.getOwnPropertyDescriptor(target, key)!;
      if (!was) changes.push(`${name} gained ${String(key)} = ${brief(is.value ?? '(accessor)', 80)}`);
      else if (!sameDescriptor(was, is)) changes.push(`${name}.${String(key)} changed to ${brief(is.value ?? '(accessor)', 80)}`);
    }
    for (const key of snap.properties.keys()) if (!now.includes(key)) changes.push(`${name} lost ${String(key)}`);
  }
  return changes;
}

/** Puts every watched global back as the snapshot had it, so one polluted run does not poison the next. */
export function restoreGlobals(before: GlobalsSnapshot): void {
  for (const snap of before) {
    const { target } = snap;
    for (const key of Reflect.ownKeys(target)) if (!snap.properties.has(key)) Reflect.deleteProperty(target, key);
    for (const [key, descriptor] of snap.properties) {
      const is = Object.getOwnPropertyDescriptor(target, key);
      if (!is || !sameDescriptor(is, descriptor)) Object.defineProperty(target, key, descriptor);
    }
    if (Object.getPrototypeOf(target) !== snap.prototype) Object.setPrototypeOf(target, snap.prototype);
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Restores and reports any global change; otherwise hands back `work`'s own outcome. A pollution explains whatever else went wrong, so it wins. */
function settle<T>(what: string, before: GlobalsSnapshot, outcome: Outcome<T>): T {
  const changes = globalChanges(before);
  if (changes.length) {
    restoreGlobals(before);
    throw new InvariantError('no global object changes', `${what} changed ${changes.join('; ')}`);
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** Runs `work`; if it changed a global, restores them and throws naming the change. */
export async function withGlobalsWatched<T>(what: string, work: () => Promise<T>): Promise<T> {
  const before = snapshotGlobals();
  let outcome: Outcome<T>;
  try {
    outcome = { ok: true, value: await work() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  return settle(what, before, outcome);
}

/** The synchronous twin of withGlobalsWatched, for pure functions. */
export function withGlobalsWatchedSync<T>(what: string, work: () => T): T {
  const before = snapshotGlobals();
  let outcome: Outcome<T>;
  try {
    outcome = { ok: true, value: work() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  return settle(what, before, outcome);
}

// ---------------------------------------------------------------------------------------------
// Output documents.

/**
 * Every object in `value` is a plain object (prototype Object.prototype or null) or an array: a key taken from data
 * never became a prototype. Walks without recursion, bounded in nodes.
 */
export function foreignPrototypePath(value: unknown, maxNodes = 500_000): string | undefined {
  const stack: Array<[unknown, string]> = [[value, '(document)']];
  for (let seen = 0; stack.length && seen < maxNodes; seen++) {
    const [node, path] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    const proto = Object.getPrototypeOf(node) as unknown;
    if (Array.isArray(node)) {
      if (proto !== Array.prototype) return `${path} (an array whose prototype was replaced)`;
      for (let i = 0; i < node.length; i++) stack.push([node[i], `${path}.${i}`]);
      continue;
    }
    if (proto !== Object.prototype && proto !== null) {
      const shown = proto !== null && typeof proto === 'object' ? brief(Object.keys(proto).slice(0, 5), 80) : String(proto);
      return `${path} (its prototype is an object with keys ${shown})`;
    }
    for (const key of Object.keys(node)) stack.push([(node as Record<string, unknown>)[key], `${path}.${key}`]);
  }
  return undefined;
}

/** JSON.stringify that reports instead of throwing: what a bulk request or a dead letter would do with it. */
export function serialisable(value: unknown): { ok: true } | { ok: false; error: string } {
  try {
    JSON.stringify(value);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describeThrown(err) };
  }
}
