import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionDriver, ActionOutcome } from '../driver.ts';
import type { WebhookTarget } from '../config.ts';
import { HttpCallError, expectOk, httpCall, signBody } from '../http.ts';

/**
 * Generic webhook: POSTs a JSON body to a named target from response.webhooks, signed with HMAC-SHA256 over the
 * exact body (header X-Nyx-Signature: sha256=<hex>, key from the env var the target names), with a timeout.
 * The same sender serves the sighting hook and the directory-service account hook.
 */
export const WEBHOOK_SIGNATURE_HEADER = 'x-nyx-signature';

export interface WebhookSender {
  /** POSTs and records the call (the signature header is never recorded). Throws on non-2xx. */
  post(targetName: string, payload: Record<string, unknown>, calls: ActionCall[], signal?: AbortSignal): Promise<unknown>;
  describe(targetName: string): string;
}

export function createWebhookSender(targets: Record<string, WebhookTarget>, env: NodeJS.ProcessEnv = process.env): WebhookSender {
  const target = (name: string): WebhookTarget => {
    const t = targets[name];
    if (!t) throw new NyxError(`webhook target "${name}" is not configured (response.webhooks.${name})`);
    return t;
  };
  return {
    describe: (name) => `POST ${target(name).url}`,
    async post(name, payload, calls, signal) {
      const t = target(name);
      const body = JSON.stringify(payload);
      const headers: Record<string, string> = {};
      if (t.hmac_key_env) {
        const key = env[t.hmac_key_env];
        if (!key) throw new NyxError(`webhook target "${name}": ${t.hmac_key_env} is not set (the HMAC key comes from the environment)`);
        headers[WEBHOOK_SIGNATURE_HEADER] = signBody(body, key);
      }
      const res = await httpCall({ method: 'POST', url: t.url, headers, body, timeoutMs: t.timeout_ms, ...(signal ? { signal } : {}) }, calls);
      // The recorded request is the payload object, not the signed string.
      const last = calls[calls.length - 1];
      if (last) last.request = payload;
      expectOk(res, `webhook ${name}`);
      return res.body;
    },
  };
}

const webhookParamsSchema = z
  .object({
    target: z.string().min(1),
    /** What happened, e.g. "block_requested"; sent as `event`. */
    event: z.string().min(1).default('nyx.response'),
    payload: z.record(z.string(), z.unknown()).default({}),
    /** Sent on undo (TTL end or `nyx actions undo`); without it undo changes nothing. */
    undo_payload: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
type WebhookParams = z.infer<typeof webhookParamsSchema>;

export function createWebhookDriver(sender: WebhookSender): ActionDriver<WebhookParams> {
  const send = async (params: WebhookParams, payload: Record<string, unknown>, what: string, signal?: AbortSignal): Promise<ActionOutcome> => {
    const calls: ActionCall[] = [];
    try {
      await sender.post(params.target, { event: params.event, ...payload }, calls, signal);
      return { ok: true, calls, summary: `${what} sent to webhook ${params.target}` };
    } catch (err) {
      if (err instanceof HttpCallError || err instanceof NyxError) return { ok: false, calls, summary: `webhook ${params.target}: ${err.message}`, error: err.message };
      throw err;
    }
  };
  return {
    type: 'webhook',
    parse: (params) => webhookParamsSchema.parse(params),
    dryRun: (params) => [{ description: sender.describe(params.target), request: { event: params.event, ...params.payload } }],
    apply: (ctx, params) => send(params, params.payload, params.event, ctx.signal),
    undo: async (ctx, params) => (params.undo_payload ? send(params, { ...params.undo_payload, undo: true }, `undo of ${params.event}`, ctx.signal) : { ok: true, calls: [], summary: 'nothing to undo (no undo_payload)' }),
    status: async () => ({ active: true, detail: 'a webhook is fire-and-forget: its receiver holds the state' }),
  };
}
