import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

export interface JsonItemsOptions {
  /** Object keys from the root down to the array, e.g. ['vulnerabilities']; [] when the root is the array. */
  path: string[];
  /** One item larger than this fails the read (a broken file must not eat the heap). */
  maxItemChars?: number;
}

/** One item the stream parser could not parse: reported, then skipped. */
export interface JsonItemError {
  error: string;
  index: number;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;

/**
 * Streams the items of one JSON array out of a large document without holding the document:
 * a byte-level scanner finds the array at `path`, cuts each item's text and JSON.parses only that.
 * Memory stays at one item plus one chunk, so a 300 MB NVD feed file loads in bounded memory.
 * Items that fail to parse are yielded as JsonItemError so the caller can count and skip them.
 */
export async function* jsonArrayItems(stream: Readable, options: JsonItemsOptions): AsyncIterable<unknown | JsonItemError> {
  const { path } = options;
  const maxItem = options.maxItemChars ?? 20 * 1024 * 1024;
  const decoder = new StringDecoder('utf8');
  const keys: string[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let stringStart = -1;
  let stringPieces = '';
  let lastString: string | undefined;
  let capturing = false;
  let targetDepth = -1;
  let itemPieces: string[] = [];
  let itemChars = 0;
  let itemStart = -1; // index in the current chunk where the item began (or 0 when it began earlier)
  let inItem = false;
  let done = false;
  let index = 0;
  const out: Array<unknown | JsonItemError> = [];

  const finishItem = (chunk: string, end: number): void => {
    const text = (itemPieces.join('') + chunk.slice(itemStart, end)).trim();
    itemPieces = [];
    itemChars = 0;
    inItem = false;
    if (!text) return;
    try {
      out.push(JSON.parse(text));
    } catch (err) {
      out.push({ error: `item ${index}: ${(err as Error).message.slice(0, 120)}`, index } satisfies JsonItemError);
    }
    index++;
  };

  const scan = (chunk: string): void => {
    if (inItem) itemStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) {
          inString = false;
          if (!capturing && stringStart >= 0) {
            lastString = stringPieces + chunk.slice(stringStart, i);
            stringStart = -1;
            stringPieces = '';
          }
        }
        continue;
      }
      if (capturing && !inItem && depth === targetDepth && c > 32 && c !== COMMA && c !== CLOSE_ARR) {
        inItem = true;
        itemStart = i;
      }
      switch (c) {
        case QUOTE:
          inString = true;
          if (!capturing && depth <= path.length) {
            stringStart = i + 1;
            stringPieces = '';
          }
          break;
        case COLON:
          if (!capturing && lastString !== undefined) keys[depth] = lastString;
          break;
        case OPEN_OBJ:
        case OPEN_ARR:
          if (!capturing && c === OPEN_ARR && depth === path.length && path.every((k, n) => keys[n + 1] === k)) {
            capturing = true;
            targetDepth = depth + 1;
          }
          depth++;
          break;
        case CLOSE_OBJ:
        case CLOSE_ARR:
          if (capturing && depth === targetDepth) {
            if (inItem) finishItem(chunk, i);
            capturing = false;
            done = true;
          }
          depth--;
          break;
        case COMMA:
          if (capturing && depth === targetDepth && inItem) finishItem(chunk, i);
          break;
        default:
          break;
      }
    }
    if (inItem) {
      const piece = chunk.slice(itemStart);
      itemPieces.push(piece);
      itemChars += piece.length;
      if (itemChars > maxItem) throw new Error(`a JSON item is larger than ${maxItem} characters`);
    }
    if (inString && stringStart >= 0) {
      stringPieces += chunk.slice(stringStart);
      stringStart = 0;
    }
  };

  for await (const buf of stream) {
    scan(typeof buf === 'string' ? buf : decoder.write(buf as Buffer));
    if (out.length) yield* out.splice(0, out.length);
    if (done) {
      stream.destroy();
      return;
    }
  }
  scan(decoder.end());
  if (out.length) yield* out.splice(0, out.length);
  if (!done && capturing) throw new Error('the JSON document ended inside the array (truncated file?)');
}

export function isJsonItemError(v: unknown): v is JsonItemError {
  return !!v && typeof v === 'object' && 'error' in v && 'index' in v && Object.keys(v).length === 2;
}
