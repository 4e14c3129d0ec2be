/**
 * A tenant is a data-stream namespace, and per-tenant work selects it by index name: the name is set by the
 * server that wrote the document (from the agent's key), while any field inside a document may have come from
 * the agent. These helpers read a tenant from an index name and scope index patterns to one tenant.
 */

/** A data stream's name and its three parts (`type-dataset-namespace`). */
export interface DataStreamName {
  name: string;
  type: string;
  dataset: string;
  namespace: string;
}

/** A backing index of a data stream: `.ds-<data stream>-<yyyy.MM.dd>-<generation>` (failure store: `.fs-`). */
const BACKING_INDEX = /^\.(?:ds|fs)-(.+)-\d{4}\.\d{2}\.\d{2}-\d+$/;

/**
 * The data stream an index belongs to: a backing index (`.ds-logs-endpoint-acme-2026.01.01-000001`, what a search
 * hit's `_index` is) or a data stream or index named `type-dataset-namespace`. Neither dataset nor namespace holds a
 * `-`, so the namespace is what follows the last one. Undefined for a name of fewer than three parts.
 */
export function dataStreamOfIndex(index: string): DataStreamName | undefined {
  const name = BACKING_INDEX.exec(index)?.[1] ?? index;
  const parts = name.split('-');
  if (parts.length < 3 || parts.some((p) => p === '')) return undefined;
  return { name, type: parts[0]!, dataset: parts.slice(1, -1).join('-'), namespace: parts.at(-1)! };
}

/** The tenant an index holds, from its name alone. */
export function namespaceOfIndex(index: string): string | undefined {
  return dataStreamOfIndex(index)?.namespace;
}

/**
 * Index patterns narrowed to one namespace: `logs-endpoint-*` → `logs-endpoint-<ns>`, `logs-*` → `logs-*-<ns>`;
 * a concrete name stays only when it is that namespace's. The result can be empty: a caller must not search then
 * (an empty index list means every index).
 */
export function scopeToNamespace(patterns: string[], namespace: string): string[] {
  const scoped = new Set<string>();
  for (const pattern of patterns) {
    if (!pattern.includes('*')) {
      if (namespaceOfIndex(pattern) === namespace) scoped.add(pattern);
      continue;
    }
    const parts = pattern.split('-');
    // type-dataset-* names the namespace part; anything shorter leaves the namespace inside its last wildcard.
    if (parts.length >= 3 && parts.at(-1) === '*') scoped.add([...parts.slice(0, -1), namespace].join('-'));
    else scoped.add(`${pattern}-${namespace}`);
  }
  return [...scoped];
}
