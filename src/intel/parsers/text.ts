import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ownValue } from '../../reserved-keys.ts';

/** Lines of a stream, one at a time (readline keeps only the current line). */
export async function* streamLines(stream: Readable): AsyncIterable<string> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
  }
}

/**
 * One CSV record (RFC 4180: quoted fields, doubled quotes). Records spanning lines are not joined:
 * feed CSVs are one record per line, and a broken quote rejects just that row.
 */
export function parseCsvLine(line: string, delimiter = ','): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  const n = line.length;
  while (i <= n) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= n) return undefined;
        const ch = line[i] as string;
        if (ch === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += ch;
        i++;
      }
      fields.push(value);
      while (i < n && line[i] === ' ') i++;
      if (i < n && line[i] !== delimiter) return undefined;
      i++;
    } else {
      const end = line.indexOf(delimiter, i);
      const stop = end < 0 ? n : end;
      fields.push(line.slice(i, stop).trim());
      i = stop + 1;
    }
  }
  return fields;
}

/** A value at a dotted path in a parsed JSON item (`a.b.0.c`). */
export function valueAtPath(item: unknown, path: string | number): unknown {
  if (typeof path === 'number') return Array.isArray(item) ? item[path] : undefined;
  let node: unknown = item;
  for (const part of path.split('.')) {
    if (node === null || node === undefined) return undefined;
    if (Array.isArray(node)) node = node[Number(part)];
    // Own keys only: an item without `toString` has no such field, whatever Object.prototype holds.
    else if (typeof node === 'object') node = ownValue(node as Record<string, unknown>, part);
    else return undefined;
  }
  return node;
}
