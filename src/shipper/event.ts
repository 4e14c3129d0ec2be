import { hostname as osHostname, networkInterfaces, platform, release } from 'node:os';
import { z } from 'zod';
// The contract's own list (that module needs only zod, so the standalone bundle can take it along).
import { EVENT_CATEGORIES } from '../ingest/event-contract.ts';

/**
 * One event as the shipper sends it. Contract fields plus category fields (passthrough);
 * `seq` is the agent's monotonically increasing sequence number, from which the server
 * derives a deterministic _id (agent id + seq), so a retried event is stored once.
 */
export const agentEventSchema = z
  .object({
    ts: z.string().min(1),
    category: z.enum(EVENT_CATEGORIES),
    host: z.string().min(1),
    user: z.string().optional(),
    ip: z.string().optional(),
    raw: z.unknown(),
    source: z.string().optional(),
    severity: z.number().min(0).max(10).optional(),
    message: z.string().optional(),
    seq: z.number().int().nonnegative().optional(),
  })
  .passthrough();

export type AgentEvent = z.infer<typeof agentEventSchema>;
/** What a collector produces (without `seq`: the queue assigns it). */
export type CollectedEvent = AgentEvent;

export interface HostIdentity {
  hostname: string;
  ip?: string;
  os: string;
}

/** The host's name and first non-internal IPv4 (falls back to IPv6), read once at start. */
export function hostIdentity(override?: string): HostIdentity {
  let ip: string | undefined;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') {
        ip = a.address;
        break;
      }
      ip ??= a.address;
    }
    if (ip && !ip.includes(':')) break;
  }
  return { hostname: override ?? osHostname(), ...(ip ? { ip } : {}), os: `${platform()} ${release()}` };
}
