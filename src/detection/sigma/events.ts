import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NyxError } from '../../errors.ts';
import type { EcsDocument } from './document.ts';

export interface LoadedEvent {
  file: string;
  /** Position of the event in its file (0-based), across arrays and concatenated objects. */
  index: number;
  doc: EcsDocument;
}

/**
 * Split a text holding JSON values one after another (a JSON array, NDJSON, or objects
 * simply concatenated) into the values' source texts, tracking strings and nesting.
 */
function splitJsonValues(text: string, file: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
      if (depth < 0) throw new NyxError(`${file}: unbalanced '${ch}' at offset ${i}`);
      if (depth === 0) out.push(text.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(ch)) {
      throw new NyxError(`${file}: unexpected '${ch}' at offset ${i} (expected JSON objects)`);
    }
  }
  if (depth !== 0 || inString) throw new NyxError(`${file}: the JSON ends in the middle of a value`);
  return out;
}

export function parseEventsText(text: string, file: string): EcsDocument[] {
  const docs: EcsDocument[] = [];
  for (const chunk of splitJsonValues(text, file)) {
    let value: unknown;
    try {
      value = JSON.parse(chunk);
    } catch (err) {
      throw new NyxError(`${file}: ${(err as Error).message}`);
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new NyxError(`${file}: event #${docs.length} is not a JSON object`);
      docs.push(v as EcsDocument);
    }
  }
  return docs;
}

/** Events from a file or every *.json / *.ndjson / *.jsonl file under a directory. */
export function readEvents(path: string): LoadedEvent[] {
  const files = statSync(path).isDirectory()
    ? readdirSync(path, { recursive: true })
        .map(String)
        .filter((f) => /\.(json|ndjson|jsonl)$/.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  return files.flatMap((file) => parseEventsText(readFileSync(file, 'utf8'), file).map((doc, index) => ({ file, index, doc })));
}
