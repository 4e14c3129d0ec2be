import { createHmac } from 'node:crypto';
import type { z } from 'zod';
import type { ActionCall } from './driver.ts';

/**
 * The HTTP calls drivers make: a bounded wait, the response validated with zod, and an audit-safe record of the
 * call (method, URL, body — never the Authorization header or an HMAC key).
 */
export class HttpCallError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'HttpCallError';
  }
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  body: unknown;
}

/** Makes the call and appends it to `calls`; throws HttpCallError on a network failure or timeout. */
export async function httpCall(req: HttpRequest, calls: ActionCall[]): Promise<HttpResponse> {
  const call: ActionCall = { description: `${req.method} ${req.url}`, ...(req.body !== undefined ? { request: req.body } : {}) };
  calls.push(call);
  const signals = [AbortSignal.timeout(req.timeoutMs), ...(req.signal ? [req.signal] : [])];
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: req.method,
      headers: { accept: 'application/json', ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
      ...(req.body !== undefined ? { body: typeof req.body === 'string' ? req.body : JSON.stringify(req.body) } : {}),
      signal: AbortSignal.any(signals),
    });
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
    call.status = timedOut ? 'timeout' : 'unreachable';
    call.result = timedOut ? `no answer within ${req.timeoutMs}ms` : (err as Error).message;
    throw new HttpCallError(`${req.method} ${req.url}: ${timedOut ? `no answer within ${req.timeoutMs}ms` : `unreachable (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message})`}`);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text.
  }
  call.status = res.status;
  call.result = body;
  return { status: res.status, body };
}

/** Parses a response body with its schema; a wrong shape is an error naming the call and the field. */
export function expectBody<T>(res: HttpResponse, schema: z.ZodType<T>, what: string): T {
  const parsed = schema.safeParse(res.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpCallError(`${what}: unexpected response (${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'})`, res.status, res.body);
  }
  return parsed.data;
}

export function expectOk(res: HttpResponse, what: string): void {
  if (res.status < 200 || res.status >= 300) {
    const msg = res.body && typeof res.body === 'object' && 'message' in res.body ? String((res.body as { message: unknown }).message) : typeof res.body === 'string' ? res.body.slice(0, 200) : '';
    throw new HttpCallError(`${what}: HTTP ${res.status}${msg ? `: ${msg}` : ''}`, res.status, res.body);
  }
}

/** HMAC-SHA256 of the exact body bytes, hex, as sent in X-Nyx-Signature: sha256=<hex>. */
export function signBody(body: string, key: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}
