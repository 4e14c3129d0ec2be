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
import { opnsenseSettingsSchema, type OpnsenseSettings } from './settings.ts';

/**
 * block_ip on OPNsense: the address is added to a host alias that a block rule references
 * (POST /api/firewall/alias_util/add/<alias>), then aliases are reconfigured
 * (POST /api/firewall/alias/reconfigure). OPNsense has no per-entry expiry, so the TTL is Nyx's:
 * the undo data says so and the engine's reaper calls undo when it ends.
 * Auth: HTTP basic with the API key and secret from NYX_OPNSENSE_API_KEY / NYX_OPNSENSE_API_SECRET.
 */

export const OPNSENSE_BLOCK_TYPE = 'block_ip_opnsense';
export const OPNSENSE_KEY_ENV = 'NYX_OPNSENSE_API_KEY';
export const OPNSENSE_SECRET_ENV = 'NYX_OPNSENSE_API_SECRET';

const undoSchema = z.object({
  backend: z.literal('opnsense'),
  ip: z.string().min(1),
  alias: z.string().regex(/^[A-Za-z0-9_]{1,31}$/),
  expires_at: z.string().optional(),
});

// alias_util answers {"status":"done"} on success, "failed" or "not_an_address" otherwise.
const statusAnswerSchema = z.object({ status: z.string() }).loose();
// list/<alias>: newer releases page rows of {ip}; older ones return a plain array of addresses.
const aliasListSchema = z.union([
  z.object({ rows: z.array(z.object({ ip: z.string() }).loose()) }).loose(),
  z.array(z.string()),
]);

export interface OpnsenseDriverOptions {
  env?: NodeJS.ProcessEnv;
  type?: string;
}

export function createOpnsenseDriver(input: OpnsenseSettings | z.input<typeof opnsenseSettingsSchema>, options: OpnsenseDriverOptions = {}): ActionDriver<BlockIpParams> {
  const settings = opnsenseSettingsSchema.parse(input);
  const type = options.type ?? OPNSENSE_BLOCK_TYPE;
  const env = options.env ?? process.env;
  const base = settings.url.replace(/\/+$/, '');

  function authorization(): string {
    const key = readEnvSecret(env, OPNSENSE_KEY_ENV);
    const secret = readEnvSecret(env, OPNSENSE_SECRET_ENV);
    if (!key || !secret) throw new NyxError(`OPNsense API credentials missing`, `set ${OPNSENSE_KEY_ENV} and ${OPNSENSE_SECRET_ENV}`);
    return `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
  }

  const paths = {
    list: (alias: string) => `/api/firewall/alias_util/list/${encodeURIComponent(alias)}`,
    add: (alias: string) => `/api/firewall/alias_util/add/${encodeURIComponent(alias)}`,
    delete: (alias: string) => `/api/firewall/alias_util/delete/${encodeURIComponent(alias)}`,
    reconfigure: () => `/api/firewall/alias/reconfigure`,
  };

  /** One API call, audited; returns the parsed JSON or throws a NyxError naming what failed. */
  async function call(ctx: DriverContext, calls: ActionCall[], method: 'GET' | 'POST', path: string, body?: Record<string, string>): Promise<unknown> {
    const audit: ActionCall = { description: `${method} ${redactUrl(base + path)}`, ...(body ? { request: body } : {}) };
    const response = await auditedHttpRequest(ctx, calls, audit, settings, {
      method,
      url: base + path,
      headers: {
        authorization: authorization(),
        accept: 'application/json',
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      // OPNsense's API reads POST fields from a JSON body; reconfigure takes an empty object.
      ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
    });
    if (response.status === 401 || response.status === 403) throw new NyxError(`OPNsense ${path}: ${response.status} (API key/secret rejected or lacking privileges)`);
    if (response.status < 200 || response.status >= 300) throw new NyxError(`OPNsense ${path}: HTTP ${response.status}: ${clip(response.body, 200)}`);
    try {
      return JSON.parse(response.body) as unknown;
    } catch {
      throw new NyxError(`OPNsense ${path}: answer is not JSON: ${clip(response.body, 200)}`);
    }
  }

  function expectStatus(answer: unknown, path: string, accepted: string[]): void {
    const parsed = statusAnswerSchema.safeParse(answer);
    if (!parsed.success) throw new NyxError(`OPNsense ${path}: unexpected answer ${clip(JSON.stringify(answer), 200)}`);
    if (!accepted.includes(parsed.data.status.toLowerCase())) throw new NyxError(`OPNsense ${path}: status "${parsed.data.status}"`);
  }

  async function isListed(ctx: DriverContext, calls: ActionCall[], alias: string, ip: string): Promise<boolean> {
    const answer = await call(ctx, calls, 'GET', paths.list(alias));
    const parsed = aliasListSchema.safeParse(answer);
    if (!parsed.success) throw new NyxError(`OPNsense ${paths.list(alias)}: unexpected answer ${clip(JSON.stringify(answer), 200)}`);
    const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.rows.map((r) => r.ip);
    // pf may list a host with its mask (/32, /128).
    return entries.some((entry) => entry.replace(/\/(32|128)$/, '').toLowerCase() === ip);
  }

  return {
    type,

    parse(params: unknown): BlockIpParams {
      return parseParams(blockIpParamsSchema, params, type);
    },

    dryRun(params: BlockIpParams): ActionCall[] {
      const ip = normaliseIp(params.ip).address;
      return [
        { description: `GET ${redactUrl(base + paths.list(settings.alias))}` },
        { description: `POST ${redactUrl(base + paths.add(settings.alias))}`, request: { address: ip } },
        { description: `POST ${redactUrl(base + paths.reconfigure())}` },
        { description: `Nyx removes ${ip} after ${params.ttl_seconds}s (OPNsense aliases have no per-entry expiry)` },
      ];
    },

    async apply(ctx: DriverContext, params: BlockIpParams): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const refused = guardrailRefusal(ctx, { kind: 'ip', value: params.ip }, calls);
      if (refused) return refused;
      const ip = normaliseIp(params.ip).address;
      const undo = {
        backend: 'opnsense',
        ip,
        alias: settings.alias,
        expires_at: new Date(Date.now() + params.ttl_seconds * 1000).toISOString(),
        // The engine's reaper must call undo at expires_at: nothing on the firewall expires it.
        expiry_managed_by: 'nyx',
      };
      try {
        const already = await isListed(ctx, calls, settings.alias, ip);
        if (!already) expectStatus(await call(ctx, calls, 'POST', paths.add(settings.alias), { address: ip }), paths.add(settings.alias), ['done']);
        expectStatus(await call(ctx, calls, 'POST', paths.reconfigure()), paths.reconfigure(), ['ok', 'done']);
        return { ok: true, calls, undo, summary: `OPNsense: ${ip} in alias ${settings.alias}${already ? ' (already listed)' : ''}; Nyx releases it after ${params.ttl_seconds}s` };
      } catch (err) {
        return failedOutcome(calls, `OPNsense: could not block ${ip}`, errorText(err));
      }
    },

    async undo(ctx: DriverContext, _params: BlockIpParams, undoData: Record<string, unknown>): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const recorded = parseUndo(undoSchema, undoData, type);
      const ip = normaliseIp(recorded.ip).address;
      try {
        // delete answers "done" whether or not the address was there: undo is idempotent.
        expectStatus(await call(ctx, calls, 'POST', paths.delete(recorded.alias), { address: ip }), paths.delete(recorded.alias), ['done']);
        expectStatus(await call(ctx, calls, 'POST', paths.reconfigure()), paths.reconfigure(), ['ok', 'done']);
        return { ok: true, calls, summary: `OPNsense: ${ip} removed from alias ${recorded.alias}` };
      } catch (err) {
        return failedOutcome(calls, `OPNsense: could not unblock ${ip}`, errorText(err));
      }
    },

    async status(ctx: DriverContext, _params: BlockIpParams, undoData: Record<string, unknown>): Promise<{ active: boolean; detail: string }> {
      const recorded = parseUndo(undoSchema, undoData, type);
      const ip = normaliseIp(recorded.ip).address;
      const listed = await isListed(ctx, [], recorded.alias, ip);
      return { active: listed, detail: `${ip} ${listed ? 'is' : 'is not'} in OPNsense alias ${recorded.alias}` };
    },
  };
}
