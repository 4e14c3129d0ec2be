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

/** A key that would reach an object's prototype when copied; refused, never interpreted. */
function refuseProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('the key "__proto__" is not accepted');
  return value;
}

function parseJson(text: string): unknown {
  return text.includes('"__proto__"') ? JSON.parse(text, refuseProtoKeys) : JSON.parse(text);
}

/**
 * Splits a body into events: one JSON object, a JSON array, or NDJSON (one JSON value per line).
 * In NDJSON a bad line costs only itself; a body that is no JSON at all is refused whole.
 */
export function parseEvents(body: Buffer): IngestItem[] {
  const text = body.toString('utf8');
  const trimmed = text.trim();
  if (trimmed === '') throw new BodyError(400, 'the body is empty: send one JSON event, a JSON array or NDJSON');
  if (trimmed.startsWith('[')) {
    let value: unknown;
    try {
      value = parseJson(trimmed);
    } catch (err) {
      throw new BodyError(400, `invalid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(value)) throw new BodyError(400, 'invalid JSON: expected an array');
    return value.map((v) => ({ value: v }));
  }
  try {
    return [{ value: parseJson(trimmed), text: trimmed }];
  } catch (whole) {
    const lines = trimmed.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
    if (lines.length < 2) throw new BodyError(400, `invalid JSON: ${(whole as Error).message}`);
    const items: IngestItem[] = lines.map((line) => {
      try {
        return { value: parseJson(line), text: line };
      } catch (err) {
        return { parseError: `invalid JSON: ${(err as Error).message}`, text: line };
      }
    });
    if (items.every((i) => 'parseError' in i)) throw new BodyError(400, `invalid JSON (and not NDJSON): ${(whole as Error).message}`);
    return items;
  }
}
