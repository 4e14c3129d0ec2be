import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionDriver } from '../driver.ts';
import { HttpCallError } from '../http.ts';
import type { WebhookSender } from './webhook.ts';

/**
 * `sighting`: reports that an indicator was seen (MISP-style sighting: value, type, source, time). Sent through a
 * pluggable sink: by default the webhook named in response.sighting.webhook; the threat-intel capability can
 * register its MISP client with `registerSightingSink` without the playbooks changing.
 */
export interface Sighting {
  value: string;
  type: string;
  source: string;
  timestamp: string;
  alert_id?: string;
  tags?: string[];
}

export interface SightingSink {
  describe(): string;
  send(sighting: Sighting, calls: ActionCall[], signal?: AbortSignal): Promise<void>;
}

let registeredSink: SightingSink | undefined;

/** Replaces the default (webhook) sink, e.g. with a MISP client. */
export function registerSightingSink(sink: SightingSink | undefined): void {
  registeredSink = sink;
}

export function webhookSightingSink(sender: WebhookSender, target: string): SightingSink {
  return {
    describe: () => `${sender.describe(target)} (sighting)`,
    async send(sighting, calls, signal) {
      await sender.post(target, { event: 'sighting', sighting }, calls, signal);
    },
  };
}

const sightingParamsSchema = z
  .object({
    value: z.string().min(1),
    type: z.string().min(1).default('ip-src'),
    source: z.string().min(1).default('nyx'),
    alert_id: z.string().optional(),
    tags: z.array(z.string()).optional(),
    timestamp: z.string().optional(),
  })
  .strict();
type SightingParams = z.infer<typeof sightingParamsSchema>;

export function createSightingDriver(defaultSink: SightingSink | undefined): ActionDriver<SightingParams> {
  const sink = (): SightingSink => {
    const s = registeredSink ?? defaultSink;
    if (!s) throw new NyxError('no sighting sink: set response.sighting.webhook or register a MISP client');
    return s;
  };
  const toSighting = (p: SightingParams): Sighting => ({ value: p.value, type: p.type, source: p.source, timestamp: p.timestamp ?? new Date().toISOString(), ...(p.alert_id ? { alert_id: p.alert_id } : {}), ...(p.tags ? { tags: p.tags } : {}) });
  return {
    type: 'sighting',
    parse: (params) => sightingParamsSchema.parse(params),
    dryRun: (params) => {
      let description = 'sighting (no sink configured)';
      try {
        description = sink().describe();
      } catch {
        // Shown as unconfigured.
      }
      return [{ description, request: toSighting(params) }];
    },
    async apply(ctx, params) {
      const calls: ActionCall[] = [];
      try {
        await sink().send(toSighting(params), calls, ctx.signal);
        return { ok: true, calls, summary: `sighting of ${params.type} ${params.value} reported` };
      } catch (err) {
        if (err instanceof HttpCallError || err instanceof NyxError) return { ok: false, calls, summary: `sighting: ${err.message}`, error: err.message };
        throw err;
      }
    },
    undo: async () => ({ ok: true, calls: [], summary: 'a sighting is a record of fact: nothing to undo' }),
    status: async () => ({ active: true, detail: 'reported' }),
  };
}
