import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionDriver, ActionOutcome, DriverContext } from '../driver.ts';
import { blockIpParamsSchema, errorText, guardrailRefusal, parseParams, parseUndo, type BlockIpParams } from './common.ts';
import { createNftablesDriver } from './nftables.ts';
import { registerActionDriver } from './index.ts';
import { createOpnsenseDriver } from './opnsense.ts';
import { createPanosDriver } from './panos.ts';
import type { ResponseDriversSettings } from './settings.ts';
import { createWebhookFirewallDriver } from './webhook-firewall.ts';

/**
 * The generic `block_ip` step: applies the block on every configured firewall backend
 * (response.drivers.block_ip.backends) and keeps each backend's undo data, so undo and status
 * reach exactly the firewalls that were changed. A backend that fails does not hide the others:
 * the outcome is not ok, and its undo data still lists the backends that did block (for undo).
 */

export const BLOCK_IP_TYPE = 'block_ip';

const undoSchema = z.object({
  backends: z.array(z.object({ type: z.string().min(1), undo: z.record(z.string(), z.unknown()) })),
  expires_at: z.string().optional(),
  expiry_managed_by: z.string().optional(),
});

export function createBlockIpDriver(backends: ActionDriver<BlockIpParams>[], type = BLOCK_IP_TYPE): ActionDriver<BlockIpParams> {
  const byType = new Map(backends.map((b) => [b.type, b]));

  return {
    type,

    parse(params: unknown): BlockIpParams {
      return parseParams(blockIpParamsSchema, params, type);
    },

    dryRun(params: BlockIpParams): ActionCall[] {
      return backends.flatMap((b) => b.dryRun(params).map((c) => ({ ...c, description: `[${b.type}] ${c.description}` })));
    },

    async apply(ctx: DriverContext, params: BlockIpParams): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      // Asked once for every backend (each backend asks again): a refused address reaches no firewall.
      const refused = guardrailRefusal(ctx, { kind: 'ip', value: params.ip }, calls);
      if (refused) return refused;
      const done: Array<{ type: string; undo: Record<string, unknown> }> = [];
      const summaries: string[] = [];
      const errors: string[] = [];
      for (const backend of backends) {
        let outcome: ActionOutcome;
        try {
          outcome = await backend.apply(ctx, params);
        } catch (err) {
          outcome = { ok: false, calls: [], summary: `${backend.type} failed`, error: errorText(err) };
        }
        calls.push(...outcome.calls.map((c) => ({ ...c, description: `[${backend.type}] ${c.description}` })));
        summaries.push(outcome.summary);
        if (outcome.ok && outcome.undo) done.push({ type: backend.type, undo: outcome.undo });
        if (!outcome.ok) errors.push(`${backend.type}: ${outcome.error ?? 'failed'}`);
      }
      // Nyx must reap the block at expiry if any backend cannot expire it by itself.
      const nyxManaged = done.some((d) => d.undo.expiry_managed_by === 'nyx');
      const expiresAt = done.map((d) => d.undo.expires_at).find((e): e is string => typeof e === 'string');
      const undo = { backends: done, ...(expiresAt ? { expires_at: expiresAt } : {}), expiry_managed_by: nyxManaged ? 'nyx' : 'firewall' };
      return {
        ok: errors.length === 0,
        calls,
        ...(done.length ? { undo } : {}),
        summary: summaries.join('; '),
        ...(errors.length ? { error: errors.join('; ') } : {}),
      };
    },

    async undo(ctx: DriverContext, params: BlockIpParams, undoData: Record<string, unknown>): Promise<ActionOutcome> {
      const recorded = parseUndo(undoSchema, undoData, type);
      const calls: ActionCall[] = [];
      const summaries: string[] = [];
      const errors: string[] = [];
      for (const part of [...recorded.backends].reverse()) {
        const backend = byType.get(part.type);
        if (!backend) {
          errors.push(`${part.type}: backend no longer configured, cannot undo (undo data: ${JSON.stringify(part.undo)})`);
          continue;
        }
        const outcome = await backend.undo(ctx, params, part.undo).catch(
          (err: unknown): ActionOutcome => ({ ok: false, calls: [], summary: `${part.type} undo failed`, error: errorText(err) }),
        );
        calls.push(...outcome.calls.map((c) => ({ ...c, description: `[${part.type}] ${c.description}` })));
        summaries.push(outcome.summary);
        if (!outcome.ok) errors.push(`${part.type}: ${outcome.error ?? 'failed'}`);
      }
      return { ok: errors.length === 0, calls, summary: summaries.join('; ') || 'nothing to undo', ...(errors.length ? { error: errors.join('; ') } : {}) };
    },

    async status(ctx: DriverContext, params: BlockIpParams, undoData: Record<string, unknown>): Promise<{ active: boolean; detail: string }> {
      const recorded = parseUndo(undoSchema, undoData, type);
      const details: string[] = [];
      let active = false;
      for (const part of recorded.backends) {
        const backend = byType.get(part.type);
        if (!backend) {
          details.push(`${part.type}: not configured`);
          continue;
        }
        const s = await backend.status(ctx, params, part.undo);
        active ||= s.active;
        details.push(`${part.type}: ${s.detail}`);
      }
      return { active, detail: details.join('; ') };
    },
  };
}

export interface FirewallDriverOptions {
  env?: NodeJS.ProcessEnv;
}

/**
 * Every firewall driver the settings allow: one per configured backend (block_ip_<backend>) plus
 * the fan-out `block_ip` over response.drivers.block_ip.backends. A backend listed there without
 * its settings (OPNsense/PAN-OS/webhook URL) is a configuration error, reported at startup.
 */
export function createFirewallDrivers(settings: ResponseDriversSettings, options: FirewallDriverOptions = {}): ActionDriver<BlockIpParams>[] {
  const env = options.env ?? process.env;
  const available = new Map<string, ActionDriver<BlockIpParams>>();
  available.set('nftables', createNftablesDriver(settings.nftables));
  if (settings.opnsense) available.set('opnsense', createOpnsenseDriver(settings.opnsense, { env }));
  if (settings.panos) available.set('panos', createPanosDriver(settings.panos, { env }));
  if (settings.webhook_firewall) available.set('webhook', createWebhookFirewallDriver(settings.webhook_firewall, { env }));
  const selected = settings.block_ip.backends.map((name) => {
    const driver = available.get(name);
    if (!driver) throw new NyxError(`response.drivers.block_ip.backends lists ${name}, but response.drivers.${name === 'webhook' ? 'webhook_firewall' : name} is not configured`);
    return driver;
  });
  return [...available.values(), createBlockIpDriver(selected)];
}

/** Registers block_ip and every configured block_ip_<backend> driver (call from registerBuiltinDrivers). */
export function registerFirewallDrivers(settings: ResponseDriversSettings, env: NodeJS.ProcessEnv = process.env): void {
  for (const driver of createFirewallDrivers(settings, { env })) registerActionDriver(driver);
}
