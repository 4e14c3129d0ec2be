import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionDriver, ActionOutcome, DriverContext } from '../driver.ts';
import {
  blockIpParamsSchema,
  clip,
  errorText,
  failedOutcome,
  guardrailRefusal,
  auditedHttpRequest,
  normaliseIp,
  parseParams,
  parseUndo,
  readEnvSecret,
  redactUrl,
  type BlockIpParams,
} from './common.ts';
import { webhookFirewallSettingsSchema, type WebhookFirewallSettings } from './settings.ts';

/**
 * block_ip through a generic firewall webhook: a JSON POST per block/unblock/status, signed with
 * HMAC-SHA256 over `<timestamp>.<raw body>` using NYX_FIREWALL_WEBHOOK_SECRET, so the receiver can
 * verify origin and reject replays:
 *   X-Nyx-Timestamp: <unix seconds>
 *   X-Nyx-Signature: sha256=<hex>      (header name configurable)
 * Body: {action, ip, ip_version, ttl_seconds?, expires_at?, alert_id?, reason?, idempotency_key}.
 * Any 2xx is success. A receiver may not expire blocks itself, so the TTL is Nyx's (reaper → undo).
 */

export const WEBHOOK_BLOCK_TYPE = 'block_ip_webhook';
export const WEBHOOK_SECRET_ENV = 'NYX_FIREWALL_WEBHOOK_SECRET';

const undoSchema = z.object({
  backend: z.literal('webhook'),
  ip: z.string().min(1),
  alert_id: z.string().optional(),
  expires_at: z.string().optional(),
});

// Optional answer to a status request; receivers without it make status fall back to expires_at.
const statusAnswerSchema = z.object({ blocked: z.boolean() }).loose();

export interface WebhookBody {
  action: 'block' | 'unblock' | 'status';
  ip: string;
  ip_version: 4 | 6;
  ttl_seconds?: number;
  expires_at?: string;
  alert_id?: string;
  reason?: string;
  /** The same block of the same IP for the same alert always carries the same key: receivers can dedupe retries. */
  idempotency_key: string;
}

/** The signature the receiver recomputes: HMAC-SHA256(secret, `${timestamp}.${body}`) as hex. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookFirewallDriverOptions {
  env?: NodeJS.ProcessEnv;
  type?: string;
}

export function createWebhookFirewallDriver(
  input: WebhookFirewallSettings | z.input<typeof webhookFirewallSettingsSchema>,
  options: WebhookFirewallDriverOptions = {},
): ActionDriver<BlockIpParams> {
  const settings = webhookFirewallSettingsSchema.parse(input);
  const type = options.type ?? WEBHOOK_BLOCK_TYPE;
  const env = options.env ?? process.env;

  function body(action: WebhookBody['action'], ip: string, extra: Partial<WebhookBody> = {}): WebhookBody {
    const version = normaliseIp(ip).version;
    const idempotency_key = createHash('sha256').update(`${action}|${ip}|${extra.alert_id ?? ''}`).digest('hex').slice(0, 32);
    return { action, ip, ip_version: version, ...extra, idempotency_key };
  }

  async function post(ctx: DriverContext, calls: ActionCall[], payload: WebhookBody): Promise<{ status: number; body: string }> {
    const secret = readEnvSecret(env, WEBHOOK_SECRET_ENV);
    if (!secret) throw new NyxError('firewall webhook secret missing', `set ${WEBHOOK_SECRET_ENV}`);
    const raw = JSON.stringify(payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const audit: ActionCall = { description: `POST ${redactUrl(settings.url)} (${payload.action})`, request: payload };
    const response = await auditedHttpRequest(ctx, calls, audit, settings, {
      method: 'POST',
      url: settings.url,
      headers: {
        'content-type': 'application/json',
        'x-nyx-timestamp': timestamp,
        [settings.signature_header.toLowerCase()]: webhookSignature(secret, timestamp, raw),
      },
      body: raw,
    });
    return response;
  }

  function requireSuccess(response: { status: number; body: string }, action: string): void {
    if (response.status < 200 || response.status >= 300) throw new NyxError(`firewall webhook ${action}: HTTP ${response.status}: ${clip(response.body, 200)}`);
  }

  return {
    type,

    parse(params: unknown): BlockIpParams {
      return parseParams(blockIpParamsSchema, params, type);
    },

    dryRun(params: BlockIpParams): ActionCall[] {
      const ip = normaliseIp(params.ip).address;
      const payload = body('block', ip, {
        ttl_seconds: params.ttl_seconds,
        ...(params.alert_id ? { alert_id: params.alert_id } : {}),
        ...(params.reason ? { reason: params.reason } : {}),
      });
      return [{ description: `POST ${redactUrl(settings.url)} (block), signed in ${settings.signature_header}`, request: payload }];
    },

    async apply(ctx: DriverContext, params: BlockIpParams): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const refused = guardrailRefusal(ctx, { kind: 'ip', value: params.ip }, calls);
      if (refused) return refused;
      const ip = normaliseIp(params.ip).address;
      const expiresAt = new Date(Date.now() + params.ttl_seconds * 1000).toISOString();
      const undo = {
        backend: 'webhook',
        ip,
        ...(params.alert_id ? { alert_id: params.alert_id } : {}),
        expires_at: expiresAt,
        expiry_managed_by: 'nyx',
      };
      try {
        const payload = body('block', ip, {
          ttl_seconds: params.ttl_seconds,
          expires_at: expiresAt,
          ...(params.alert_id ? { alert_id: params.alert_id } : {}),
          ...(params.reason ? { reason: params.reason } : {}),
        });
        requireSuccess(await post(ctx, calls, payload), 'block');
        return { ok: true, calls, undo, summary: `firewall webhook: block ${ip} for ${params.ttl_seconds}s accepted` };
      } catch (err) {
        return failedOutcome(calls, `firewall webhook: could not block ${ip}`, errorText(err));
      }
    },

    async undo(ctx: DriverContext, _params: BlockIpParams, undoData: Record<string, unknown>): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const recorded = parseUndo(undoSchema, undoData, type);
      const ip = normaliseIp(recorded.ip).address;
      try {
        requireSuccess(await post(ctx, calls, body('unblock', ip, recorded.alert_id ? { alert_id: recorded.alert_id } : {})), 'unblock');
        return { ok: true, calls, summary: `firewall webhook: unblock ${ip} accepted` };
      } catch (err) {
        return failedOutcome(calls, `firewall webhook: could not unblock ${ip}`, errorText(err));
      }
    },

    async status(ctx: DriverContext, _params: BlockIpParams, undoData: Record<string, unknown>): Promise<{ active: boolean; detail: string }> {
      const recorded = parseUndo(undoSchema, undoData, type);
      const ip = normaliseIp(recorded.ip).address;
      const response = await post(ctx, [], body('status', ip));
      if (response.status >= 200 && response.status < 300) {
        try {
          const answer = statusAnswerSchema.safeParse(JSON.parse(response.body));
          if (answer.success) return { active: answer.data.blocked, detail: `receiver reports ${ip} ${answer.data.blocked ? 'blocked' : 'not blocked'}` };
        } catch {
          // not JSON: fall through to Nyx's own record
        }
      }
      // The receiver cannot say: Nyx's record (block until expires_at unless undone) is the answer.
      const active = recorded.expires_at ? Date.parse(recorded.expires_at) > Date.now() : true;
      return { active, detail: `receiver gave no status (HTTP ${response.status}); by Nyx's record ${ip} is ${active ? 'blocked' : 'expired'}` };
    },
  };
}
