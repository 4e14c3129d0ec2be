import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { isIP } from 'node:net';
import axios from 'axios';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionOutcome, DriverContext } from '../driver.ts';
import { builtinGuardrails, type ActionTarget } from '../guardrails.ts';

/**
 * Helpers shared by the firewall and cloud response drivers: argv-only process execution,
 * IP validation/normalisation, secrets from env, and the common `block_ip` step parameters.
 */

// ---------------------------------------------------------------- processes

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunCommandOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Runs a program with an argv array (never a shell), bounded by a timeout. A non-zero exit is a
 * result, not an exception: callers decide what an error means (e.g. "already absent" on delete).
 * A missing program or a timeout throws.
 */
export function runCommand(file: string, args: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', ...(options.signal ? { signal: options.signal } : {}) },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          const reason = err.killed ? `timed out after ${options.timeoutMs ?? 10_000} ms` : err.message;
          reject(new NyxError(`${file} ${args.slice(0, 3).join(' ')}…: ${reason}`));
          return;
        }
        resolve({ code: err && typeof err.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
  });
}

/** How a command appears in the audit trail: argv joined for reading only, never executed as a string. */
export function describeCommand(file: string, args: readonly string[]): string {
  return [file, ...args].join(' ');
}

// ---------------------------------------------------------------- IP addresses

export interface NormalisedIp {
  /** Canonical text: dotted quad, or compressed lowercase IPv6. */
  address: string;
  version: 4 | 6;
}

/**
 * Validates one host address (no CIDR, no zone id) with node:net and returns its canonical form,
 * so the same address always produces the same firewall element and the same status lookup.
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is treated as the IPv4 address it carries.
 */
export function normaliseIp(input: string): NormalisedIp {
  const text = input.trim();
  if (text.includes('%') || text.includes('/')) throw new NyxError(`"${input}" is not a single IP address (no CIDR or zone id)`);
  const version = isIP(text);
  if (version === 4) {
    const octets = text.split('.').map((o) => Number(o));
    return { address: octets.join('.'), version: 4 };
  }
  if (version === 6) {
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(text);
    if (mapped?.[1] && isIP(mapped[1]) === 4) return normaliseIp(mapped[1]);
    // WHATWG URL host parsing yields the RFC 5952 compressed, lowercase form.
    const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    const v4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (v4?.[1] && v4[2]) {
      const hi = parseInt(v4[1], 16);
      const lo = parseInt(v4[2], 16);
      return { address: [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.'), version: 4 };
    }
    return { address: host, version: 6 };
  }
  throw new NyxError(`"${input}" is not a valid IPv4 or IPv6 address`);
}

/** A zod string that must be one IPv4/IPv6 host address; output is canonical. */
export const ipAddressSchema = z
  .string()
  .min(1)
  .max(64)
  .transform((value, ctx) => {
    try {
      return normaliseIp(value).address;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/**
 * Asks the guardrails about the exact address or account a driver is about to act on (defence in depth: the engine
 * asked before the step, but a driver may be reached another way). Without the engine's guardrails the built-in
 * protected addresses and critical accounts still hold. A refusal is the outcome, with nothing changed.
 */
export function guardrailRefusal(ctx: DriverContext, target: ActionTarget, calls: ActionCall[] = []): ActionOutcome | undefined {
  const verdict = (ctx.guard ?? builtinGuardrails()).checkTarget(target);
  if (verdict.ok) return undefined;
  return { ok: false, calls, summary: `refused by guardrail ${verdict.rule}: ${verdict.reason}; nothing changed`, error: verdict.reason };
}

// ---------------------------------------------------------------- parameters

/** The `block_ip` step parameters every firewall backend accepts. */
export const blockIpParamsSchema = z
  .object({
    ip: ipAddressSchema,
    /** How long the block lasts; the firewall expires it (nftables, PAN-OS) or Nyx's reaper undoes it. */
    ttl_seconds: z.number().int().positive().max(365 * 24 * 3600).default(3600),
    /** The alert that caused the block: recorded in comments and webhook bodies for traceability. */
    alert_id: z.string().min(1).max(512).optional(),
    reason: z.string().max(1024).optional(),
  })
  .strict();

export type BlockIpParams = z.infer<typeof blockIpParamsSchema>;

/** parse() for drivers: a zod failure becomes one NyxError naming the field. */
export function parseParams<S extends z.ZodType>(schema: S, params: unknown, stepType: string): z.infer<S> {
  const parsed = schema.safeParse(params);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.map(String).join('.') || '(params)';
  throw new NyxError(`${stepType}: ${field}: ${issue?.message ?? 'invalid parameters'}`);
}

/** Undo data recorded by one driver, re-validated before use (it comes back from the audit store). */
export function parseUndo<S extends z.ZodType>(schema: S, undo: Record<string, unknown>, stepType: string): z.infer<S> {
  const parsed = schema.safeParse(undo);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new NyxError(`${stepType}: undo data: ${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
}

// ---------------------------------------------------------------- secrets and errors

export { readEnvSecret } from '../../config/load.ts';

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Clips a response body for the audit trail (bodies can be large or hostile). */
export function clip(text: string, max = 500): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function failedOutcome(calls: ActionCall[], summary: string, error: string, undo?: Record<string, unknown>) {
  return { ok: false, calls, summary, error, ...(undo ? { undo } : {}) };
}

// ---------------------------------------------------------------- HTTP

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  /** Sent as is (already serialised JSON, form or XML). */
  body?: string;
  timeoutMs: number;
  /** PEM CA bundle file for a firewall with its own certificate authority. */
  caFile?: string;
  insecureSkipVerify?: boolean;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** One bounded HTTP exchange; any status is a response (callers judge it), a network failure or timeout throws. */
export async function httpRequest(request: HttpRequest): Promise<HttpResponse> {
  const ca = request.caFile ? readFileSync(request.caFile, 'utf8') : undefined;
  const httpsAgent =
    request.url.startsWith('https:') && (ca || request.insecureSkipVerify)
      ? new https.Agent({ ...(ca ? { ca } : {}), rejectUnauthorized: !request.insecureSkipVerify })
      : undefined;
  try {
    const response = await axios.request<string>({
      method: request.method,
      url: request.url,
      headers: request.headers ?? {},
      ...(request.body !== undefined ? { data: request.body } : {}),
      timeout: request.timeoutMs,
      responseType: 'text',
      // Keep the raw text: each driver validates it with its own zod schema.
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxRedirects: 0,
      maxContentLength: 5 * 1024 * 1024,
      proxy: false,
      ...(httpsAgent ? { httpsAgent } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(response.headers)) if (typeof value === 'string') headers[key.toLowerCase()] = value;
    return { status: response.status, body: typeof response.data === 'string' ? response.data : String(response.data ?? ''), headers };
  } catch (err) {
    if (axios.isAxiosError(err)) {
      const reason = err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT' ? `timed out after ${request.timeoutMs} ms` : err.code ?? err.message;
      throw new NyxError(`${request.method} ${redactUrl(request.url)}: ${reason}`);
    }
    throw err;
  }
}

/** How a driver reaches its appliance: the settings every HTTP driver's schema shares. */
export interface HttpConnection {
  timeout_ms: number;
  ca_file?: string | undefined;
  insecure_skip_verify?: boolean | undefined;
}

/**
 * One audited call of an action step: `audit` is recorded in `calls` before the request leaves (so a call
 * that throws is still on record), its status and clipped answer after; the step's signal cancels it.
 */
export async function auditedHttpRequest(
  ctx: DriverContext,
  calls: ActionCall[],
  audit: ActionCall,
  connection: HttpConnection,
  request: Pick<HttpRequest, 'method' | 'url' | 'headers' | 'body'>,
): Promise<HttpResponse> {
  calls.push(audit);
  const response = await httpRequest({
    ...request,
    timeoutMs: connection.timeout_ms,
    ...(connection.ca_file ? { caFile: connection.ca_file } : {}),
    ...(connection.insecure_skip_verify ? { insecureSkipVerify: true } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  audit.status = response.status;
  audit.result = clip(response.body, 300);
  return response;
}

/** A URL as it may appear in audit and errors: no credentials, no query (PAN-OS keys travel in headers, but be safe). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}
