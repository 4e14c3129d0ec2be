import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** Counters since the shipper started, plus queue totals that survive restarts. */
export const shipperStatusSchema = z.object({
  pid: z.number().int(),
  started_at: z.string(),
  updated_at: z.string(),
  state: z.enum(['starting', 'enrolling', 'running', 'backing_off', 'unauthorized', 'stopped']),
  /** The ingest API URL, or (direct mode) the Elasticsearch URL and namespace. */
  server: z.string(),
  /** Absent: the ingest API (`server`); elasticsearch: written directly with an API key. */
  output: z.enum(['server', 'elasticsearch']).optional(),
  agent_id: z.string().optional(),
  counters: z.object({
    read: z.number(),
    queued: z.number(),
    sent: z.number(),
    retried: z.number(),
    rejected: z.number(),
    blocked: z.number(),
  }),
  queue: z.object({
    depth: z.number(),
    bytes: z.number(),
    oldest_age_s: z.number().optional(),
    in_flight: z.number(),
    next_seq: z.number(),
    /** Lifetime, durable: every event the cap policy ever dropped. */
    dropped_total: z.number(),
    sent_total: z.number(),
    rejected_total: z.number(),
  }),
  last_error: z.string().optional(),
  /** Where events the server would not take are kept, one JSON line each with the reason. */
  dead_letter_file: z.string().optional(),
  inputs: z.array(z.string()),
});
export type ShipperStatus = z.infer<typeof shipperStatusSchema>;

export function statusPath(stateDir: string): string {
  return join(stateDir, 'status.json');
}

export function writeStatus(stateDir: string, status: ShipperStatus): void {
  const path = statusPath(stateDir);
  // Write-then-rename so `nyx ship status` never reads half a file.
  writeFileSync(`${path}.tmp`, JSON.stringify(status, null, 2));
  renameSync(`${path}.tmp`, path);
}

export function readStatus(stateDir: string): ShipperStatus | null {
  const path = statusPath(stateDir);
  if (!existsSync(path)) return null;
  const parsed = shipperStatusSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  return parsed.success ? parsed.data : null;
}

/** Whether the pid in the status file is a live process. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function formatStatus(s: ShipperStatus, now = Date.now()): string {
  const alive = s.state !== 'stopped' && isAlive(s.pid);
  const age = Math.round((now - Date.parse(s.updated_at)) / 1000);
  const lines = [
    `shipper:   ${alive ? (s.state === 'running' ? `running (pid ${s.pid})` : `running (pid ${s.pid}, ${s.state.replace('_', ' ')})`) : 'not running'}; status written ${age}s ago`,
    s.output === 'elasticsearch'
      ? `output:    ${s.server}${s.agent_id ? ` as agent ${s.agent_id}` : ''}`
      : `server:    ${s.server}${s.agent_id ? ` as agent ${s.agent_id}` : ' (not enrolled yet)'}`,
    `events:    read ${s.counters.read}, queued ${s.counters.queued}, sent ${s.counters.sent}, retried ${s.counters.retried}, rejected ${s.counters.rejected}, dropped ${s.queue.dropped_total} (ever)`,
    `queue:     depth ${s.queue.depth}, ${(s.queue.bytes / 1024 / 1024).toFixed(1)} MiB on disk, ${s.queue.oldest_age_s === undefined ? 'nothing waiting' : `oldest ${s.queue.oldest_age_s}s old`}, ${s.queue.in_flight} in flight`,
    `inputs:    ${s.inputs.join(', ') || '(none)'}`,
  ];
  if (s.queue.rejected_total > 0) lines.push(`dead letters: ${s.queue.rejected_total} (ever), with the reason each, in ${s.dead_letter_file ?? 'dead-letter.ndjson in the state directory'}`);
  if (s.last_error) lines.push(`last error: ${s.last_error}`);
  return lines.join('\n');
}
