/**
 * Keys that reach an object's prototype machinery: `o.__proto__ = x` replaces o's prototype, and
 * `o.constructor.prototype.x = y` (or a merge that walks `__proto__`) writes onto Object.prototype, which every
 * object in the process, every tenant's included, then inherits. Nyx takes keys from data everywhere (events,
 * feeds, YAML assets, env names); none of them may be one of these, and no lookup by name may find an
 * inherited member instead of "absent".
 */

import { NyxError } from './errors.ts';

const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The wording every refusal shares, so an operator reading any of them learns the same rule. */
export const RESERVED_KEYS_RULE = '__proto__, constructor and prototype cannot name a field or key';

export function isReservedKey(key: string): boolean {
  return RESERVED_KEYS.has(key);
}

/** The first reserved segment of a dotted name (`a.__proto__.b` → `__proto__`), or undefined. */
export function reservedSegment(dottedName: string): string | undefined {
  for (const segment of dottedName.split('.')) if (RESERVED_KEYS.has(segment)) return segment;
  return undefined;
}

/** `record[key]` for an own key only: a name such as `constructor` or `toString` finds nothing in a table that does not list it. */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** Where a reserved key sits in parsed data: the keys (list indexes as text) leading to it, itself last, and the reserved name. */
export interface ReservedKeyHit {
  path: string[];
  key: string;
}

/**
 * The first reserved key anywhere in parsed JSON/YAML data (own keys of every object, through lists), or
 * undefined. Walks with its own stack, so deep data costs no call stack; a key is a hit when it is reserved
 * itself or has a reserved dotted segment (`"a.__proto__"`, which a dotted-path writer would split).
 */
export function findReservedKey(value: unknown): ReservedKeyHit | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Array<{ node: object; path: string[] }> = [{ node: value, path: [] }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const { node, path } = frame;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        if (typeof item === 'object' && item !== null) stack.push({ node: item, path: [...path, String(i)] });
      }
      continue;
    }
    for (const key of Object.keys(node)) {
      const reserved = RESERVED_KEYS.has(key) ? key : key.includes('.') ? reservedSegment(key) : undefined;
      if (reserved !== undefined) return { path: [...path, key], key: reserved };
      const item: unknown = (node as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) stack.push({ node: item, path: [...path, key] });
    }
  }
  return undefined;
}

/**
 * For loaders of operator files (YAML configs, assets, playbooks, feed definitions): refuses the whole file when
 * any key in it is reserved, naming the file (`where`) and the key's path.
 */
export function refuseReservedKeys(value: unknown, where: string): void {
  const hit = findReservedKey(value);
  if (hit) throw new NyxError(`${where}: ${hit.path.join('.')}: ${RESERVED_KEYS_RULE}`);
}
