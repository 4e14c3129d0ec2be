import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { z } from 'zod';
import { NyxError } from '../errors.ts';
import type { AgentEvent } from './event.ts';

const gzip = promisify(gzipCb);

export const enrollResponseSchema = z.object({ agent_id: z.string().min(1), agent_key: z.string().min(1) }).passthrough();
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

/**
 * One result per event. The server's exact wording may vary, so statuses are classified:
 * stored/created/duplicate/ok → done; rejected/invalid/dead_lettered → rejected (never retried);
 * anything else (error, retry, failed, 429/503 status codes) → retried.
 */
const resultSchema = z
  .object({
    index: z.number().int().nonnegative().optional(),
    status: z.union([z.string(), z.number()]).optional(),
    result: z.string().optional(),
    field: z.string().optional(),
    reason: z.string().optional(),
    error: z.union([z.string(), z.object({ reason: z.string().optional(), type: z.string().optional() }).passthrough()]).optional(),
  })
  .passthrough();
/** Only arrays count: a server may also report totals under the same names (e.g. `rejected: 2`). */
const resultList = z.preprocess((v) => (Array.isArray(v) ? v : undefined), z.array(resultSchema).optional());
export const ingestResponseSchema = z
  .object({
    results: resultList,
    items: resultList,
    // Only the rejected ones listed (by index); the rest stored.
    rejected: resultList,
  })
  .passthrough();

export type ItemOutcome = { kind: 'done' } | { kind: 'rejected'; field?: string; reason: string } | { kind: 'retry'; reason: string };

export type IngestOutcome =
  | { kind: 'items'; items: ItemOutcome[]; retryAfterMs?: number }
  /** Nothing was stored; try the whole batch again, not before retryAfterMs. */
  | { kind: 'retry'; status: number; reason: string; retryAfterMs?: number }
  /** The key is not (or no longer) valid: retrying will not help until an operator acts. */
  | { kind: 'unauthorized'; status: number; reason: string }
  /** The body or batch is too large: split it. */
  | { kind: 'too_large' }
  /** The whole request was refused as bad input without per-event results. */
  | { kind: 'bad_request'; reason: string }
  /**
   * The server failed on the whole batch (HTTP 500, no per-event results): a bug that one event may trigger,
   * not a "come back later" (that is 503/429). Split the batch to find the event.
   */
  | { kind: 'server_error'; status: number; reason: string };

const DONE = /^(stored|created|duplicate|dropped|ok|indexed|updated|noop|accepted|exists)$/i;
const REJECTED = /^(rejected|invalid|dead_?letter(ed)?|error_invalid|bad_request)$/i;

function classify(r: z.infer<typeof resultSchema>): ItemOutcome {
  const status = String(r.status ?? r.result ?? '');
  const reason = r.reason ?? (typeof r.error === 'string' ? r.error : r.error?.reason) ?? status;
  if (DONE.test(status) || /^20\d$/.test(status) || status === '409') return { kind: 'done' };
  if (REJECTED.test(status) || status === '400') return { kind: 'rejected', reason, ...(r.field ? { field: r.field } : {}) };
  return { kind: 'retry', reason: reason || 'failed' };
}

/** Retry-After as seconds or an HTTP date, in ms. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Maps a response body to one outcome per sent event. */
export function interpretIngestResponse(count: number, body: unknown): ItemOutcome[] | string {
  const parsed = ingestResponseSchema.safeParse(body);
  if (!parsed.success) return 'response has no per-event results';
  const data = parsed.data;
  const list = data.results ?? data.items;
  if (list) {
    const out: ItemOutcome[] = Array.from({ length: count }, () => ({ kind: 'retry', reason: 'no result for this event' }));
    list.forEach((r, i) => {
      const at = r.index ?? i;
      if (at < count) out[at] = classify(r);
    });
    return out;
  }
  if (!data.rejected) return 'response has no per-event results';
  const out: ItemOutcome[] = Array.from({ length: count }, () => ({ kind: 'done' }));
  for (const r of data.rejected) {
    if (r.index !== undefined && r.index < count) {
      const c = classify({ ...r, status: r.status ?? 'rejected' });
      out[r.index] = c;
    }
  }
  return out;
}

/** The ingest API as the shipper uses it: enroll once, then POST batches. */
export class IngestClient {
  private readonly base: string;

  constructor(
    server: string,
    private readonly timeoutMs: number,
    private readonly useGzip: boolean,
  ) {
    this.base = server.replace(/\/+$/, '');
  }

  async enroll(body: { token: string; hostname: string; os: string; ip: string; version: string; instance_id?: string }): Promise<EnrollResponse> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/agents/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new NyxError(`cannot reach ${this.base} to enroll: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let reason = text.slice(0, 200);
      try {
        const j = JSON.parse(text) as { message?: string; error?: string };
        reason = j.message ?? j.error ?? reason;
      } catch {
        /* keep the text */
      }
      throw new NyxError(`enrollment refused by ${this.base} (HTTP ${res.status}): ${reason}`, res.status === 401 || res.status === 403 ? 'the enrollment token is wrong, expired or revoked: create a new one with `nyx agents token create`' : undefined);
    }
    const parsed = enrollResponseSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new NyxError(`enrollment: unexpected answer from ${this.base}`);
    return parsed.data;
  }

  async ingest(agentKey: string, events: AgentEvent[]): Promise<IngestOutcome> {
    const json = Buffer.from(JSON.stringify(events));
    const body = this.useGzip ? await gzip(json) : json;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-agent-key': agentKey };
    if (this.useGzip) headers['content-encoding'] = 'gzip';
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/ingest`, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      return { kind: 'retry', status: 0, reason: `cannot reach ${this.base}: ${(err as Error).message}` };
    }
    const text = await res.text();
    let parsedBody: unknown;
    try {
      parsedBody = text ? JSON.parse(text) : undefined;
    } catch {
      parsedBody = undefined;
    }
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    if (res.status === 401 || res.status === 403) return { kind: 'unauthorized', status: res.status, reason: text.slice(0, 200) };
    if (res.status === 413) return { kind: 'too_large' };
    const items = interpretIngestResponse(events.length, parsedBody);
    if (res.status === 429 || res.status >= 500) {
      const reason = `HTTP ${res.status}${typeof (parsedBody as { error?: unknown } | undefined)?.error === 'string' ? `: ${(parsedBody as { error: string }).error}` : ''}`;
      // A 503 may still say which events were stored: settle those, retry only the rest.
      if (typeof items !== 'string') return { kind: 'items', items, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
      if (res.status === 500) return { kind: 'server_error', status: res.status, reason };
      return { kind: 'retry', status: res.status, reason, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    }
    if (typeof items !== 'string') return { kind: 'items', items };
    if (res.status >= 400) return { kind: 'bad_request', reason: `HTTP ${res.status}: ${text.slice(0, 200)}` };
    return { kind: 'retry', status: res.status, reason: items };
  }
}
