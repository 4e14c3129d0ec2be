/**
 * The shape bounds of one event: how deep it nests, how many distinct fields it has, and which keys it may
 * not use. Checked without recursion, so an event nested 20,000 deep (or 5,000 deep after a pipeline parsed
 * a JSON string) costs one loop, never the stack; every serialiser after this check (JSON.stringify,
 * stableStringify, zod, the Elasticsearch client) then sees at most `maxDepth` levels.
 */
import { isReservedKey, reservedSegment } from '../reserved-keys.ts';

export interface EventShapeLimits {
  /** Objects and arrays inside one another; the event itself is level 1. */
  maxDepth: number;
  /**
   * Distinct field paths, array positions folded (`processes.pid` counts once however many processes there
   * are): what the event could add to a mapping, and a bound on the work to walk its keys.
   */
  maxFields: number;
}

export const DEFAULT_EVENT_SHAPE_LIMITS: EventShapeLimits = { maxDepth: 64, maxFields: 1_000 };

export type ShapeCheck = { ok: true } | { ok: false; field: string; reason: string };

const MAX_PATH_CHARS = 1024;

interface Frame {
  value: object;
  depth: number;
  /** The id of this container's field path with array positions folded: keys below it are counted against it. */
  pathId: number;
  /** Below an array: the same path can come again (one per element), so paths are interned, not just counted. */
  inArray: boolean;
  /** For error messages: the parent frame and the key (or array position) that leads here. */
  parent: Frame | undefined;
  key: string;
}

/** The dotted path of a frame (array positions included, as zod names them), `(event)` for the root. */
function pathOf(frame: Frame | undefined, key?: string): string {
  const parts: string[] = key === undefined ? [] : [key];
  for (let f = frame; f?.parent; f = f.parent) parts.push(f.key);
  if (parts.length === 0) return '(event)';
  const path = parts.reverse().join('.');
  // A hostile key can be megabytes long: the path is for people, so it is cut, never the whole key echoed.
  return path.length > MAX_PATH_CHARS ? `${path.slice(0, MAX_PATH_CHARS)}…` : path;
}

/**
 * Walks one event (iteratively) and says where it passes a bound: the field is the path at which the limit
 * was passed, the reason names the limit. Only own enumerable keys are read, as JSON.parse makes them.
 */
export function checkEventShape(value: unknown, limits: EventShapeLimits = DEFAULT_EVENT_SHAPE_LIMITS): ShapeCheck {
  if (value === null || typeof value !== 'object') return { ok: true };
  // Outside arrays every key is a new path (keys of one object are unique), so a counter is enough; below an
  // array, paths are interned as (parent path id, key), which costs no string of the full path.
  const pathIds = new Map<string, number>();
  let fields = 0;
  const stack: Frame[] = [{ value, depth: 1, pathId: 0, inArray: false, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > limits.maxDepth) {
      return { ok: false, field: pathOf(frame), reason: `nested deeper than the limit of ${limits.maxDepth} levels (serve.max_event_depth)` };
    }
    if (Array.isArray(frame.value)) {
      const items = frame.value as unknown[];
      for (let i = items.length - 1; i >= 0; i--) {
        const item = items[i];
        // Array positions share their array's path: they add no field.
        if (item !== null && typeof item === 'object') stack.push({ value: item, depth: frame.depth + 1, pathId: frame.pathId, inArray: true, parent: frame, key: String(i) });
      }
      continue;
    }
    // Keys are checked in their order (the first one past the limit is the one named), children are then
    // pushed in reverse so the walk goes on depth-first in document order.
    const keys = Object.keys(frame.value);
    const children: Frame[] = [];
    for (const key of keys) {
      // A reserved key, or one with a reserved dotted segment (`a.__proto__.b`); most keys have no dot to split.
      const reserved = isReservedKey(key) ? key : key.includes('.') ? reservedSegment(key) : undefined;
      if (reserved !== undefined) {
        return { ok: false, field: pathOf(frame, key), reason: `the key "${reserved}" is reserved (__proto__, constructor and prototype are never accepted as a field name or part of one)` };
      }
      let pathId: number | undefined;
      const interned = frame.inArray ? `${frame.pathId}\u0000${key}` : undefined;
      if (interned !== undefined) pathId = pathIds.get(interned);
      if (pathId === undefined) {
        pathId = ++fields;
        if (pathId > limits.maxFields) {
          return { ok: false, field: pathOf(frame, key), reason: `more than the limit of ${limits.maxFields} distinct fields per event (serve.max_event_fields)` };
        }
        if (interned !== undefined) pathIds.set(interned, pathId);
      }
      const child = (frame.value as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') children.push({ value: child, depth: frame.depth + 1, pathId, inArray: frame.inArray, parent: frame, key });
    }
    for (let c = children.length - 1; c >= 0; c--) stack.push(children[c]!);
  }
  return { ok: true };
}
