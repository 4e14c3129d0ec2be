import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { IngestItem } from '../event-ingestor.ts';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** A request the API refuses as a whole, with its HTTP status and one readable line. */
export class BodyError extends Error {
  constructor(readonly statusCode: 400 | 413 | 415, message: string) {
    super(message);
    this.name = 'BodyError';
  }
}

/**
 * Undoes Content-Encoding. The decoded size is capped at the same limit as the received bytes, so a small
 * gzip bomb is refused when its output passes the limit, without ever holding the whole expansion.
 */
export async function decodeBody(body: Buffer, contentEncoding: string | undefined, limitBytes: number): Promise<Buffer> {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return body;
  const decode = encoding === 'gzip' || encoding === 'x-gzip' ? gunzipAsync : encoding === 'deflate' ? inflateAsync : undefined;
  if (!decode) throw new BodyError(415, `Content-Encoding ${encoding} is not supported: send gzip, deflate or identity`);
  try {
    return await decode(body, { maxOutputLength: limitBytes });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new BodyError(413, `the decompressed body exceeds the limit of ${limitBytes} bytes`);
    }
    throw new BodyError(400, `the body is not valid ${encoding}: ${(err as Error).message}`);
  }
}

/**
 * The elements of a top-level JSON array as their own texts, found by one iterative scan (brackets counted
 * outside strings), so each element is parsed alone: a malformed, deep or hostile element costs only itself,
 * and its dead letter keeps the exact text it came as. Undefined when the array itself is not closed.
 */
function splitJsonArray(text: string): string[] | undefined {
  const end = text.length;
  const elements: string[] = [];
  let i = 1; // past '['
  while (i < end && /\s/.test(text[i]!)) i++;
  if (text[i] === ']') return text.slice(i + 1).trim() === '' ? elements : undefined;
  for (;;) {
    const start = i;
    let depth = 0;
    for (; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x22 /* " */) {
        i = closingQuote(text, i);
      } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) depth++;
      else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
        if (depth === 0) break;
        depth--;
      } else if (c === 0x2c /* , */ && depth === 0) break;
    }
    if (i >= end) return undefined;
    elements.push(text.slice(start, i).trim());
    if (text[i] === ']') return text.slice(i + 1).trim() === '' ? elements : undefined;
    if (text[i] !== ',') return undefined; // a '}' closing nothing
    i++;
  }
}

/** The index of the quote that closes the string opening at `open` (an unescaped one), or the text's end. */
function closingQuote(text: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c /* backslash */) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/**
 * One event's text, parsed alone: its JSON value, or why it is not JSON. A key such as "__proto__" stays a
 * plain own key (JSON.parse defines properties, it never assigns them); the event contract refuses it per event.
 */
function parseItem(text: string): IngestItem {
  if (text === '') return { parseError: 'invalid JSON: an empty element', text };
  try {
    return { value: JSON.parse(text), text };
  } catch (err) {
    return { parseError: `invalid JSON: ${(err as Error).message}`, text };
  }
}

/**
 * The common case, at the cost of one JSON.parse: a well-formed array. Each element's own text is only cut
 * out (one scan, for all) when something asks for it: a dead letter keeping the original of a rejected event.
 */
function parseWholeArray(text: string): IngestItem[] | undefined {
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch {
    return undefined; // a malformed element: each is parsed alone, so it costs only itself
  }
  if (!Array.isArray(values)) return undefined;
  const texts = new ElementTexts(text);
  return values.map((value, k) => new ArrayElement(value, texts, k));
}

/** The elements' texts of a well-formed array, cut out once, on first use. */
class ElementTexts {
  private texts: string[] | undefined;
  constructor(private readonly arrayText: string) {}
  at(k: number): string {
    // A well-formed array always splits into as many elements as JSON.parse found.
    this.texts ??= splitJsonArray(this.arrayText) ?? [];
    return this.texts[k] ?? '';
  }
}

/** One parsed element of an array body; its text is read only when asked for. */
class ArrayElement {
  constructor(
    readonly value: unknown,
    private readonly texts: ElementTexts,
    private readonly position: number,
  ) {}
  get text(): string {
    return this.texts.at(this.position);
  }
}

/**
 * Splits a body into events: one JSON object, a JSON array, or NDJSON (one JSON value per line).
 * In an array or NDJSON a bad element costs only itself; a body that is no JSON at all is refused whole.
 */
export function parseEvents(body: Buffer): IngestItem[] {
  const text = body.toString('utf8');
  const trimmed = text.trim();
  if (trimmed === '') throw new BodyError(400, 'the body is empty: send one JSON event, a JSON array or NDJSON');
  if (trimmed.startsWith('[')) {
    const parsed = parseWholeArray(trimmed);
    if (parsed) return parsed;
    const elements = splitJsonArray(trimmed);
    if (!elements) throw new BodyError(400, 'invalid JSON: the array is not well formed (expected "," between events and "]" at the end)');
    const items = elements.map(parseItem);
    if (items.length > 0 && items.every((i) => 'parseError' in i)) throw new BodyError(400, (items[0] as { parseError: string }).parseError);
    return items;
  }
  const whole = parseItem(trimmed);
  if (!('parseError' in whole)) return [whole];
  const lines = trimmed.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new BodyError(400, whole.parseError);
  const items = lines.map(parseItem);
  if (items.every((i) => 'parseError' in i)) throw new BodyError(400, `invalid JSON (and not NDJSON): ${whole.parseError.replace(/^invalid JSON: /, '')}`);
  return items;
}
