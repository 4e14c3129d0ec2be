import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../log/logger.ts';
import type { TargetGuard } from './guardrails.ts';

/**
 * The one interface every response action driver implements (one file each under drivers/):
 * apply, undo, status and dry-run. Guardrails run before `apply` is ever called, and a driver that acts on an
 * address or an account asks them again (ctx.guard) for the exact value it is about to act on.
 */

/** One outbound call a driver made or would make: recorded in the audit trail, shown by --dry-run. */
export interface ActionCall {
  /** e.g. "POST https://thehive.example/api/v1/alert", "nft add element inet nyx blocklist { 203.0.113.7 timeout 3600s }" */
  description: string;
  /** Request details safe to audit (never secrets). */
  request?: unknown;
  /** Response status or exit code, and a short result, once made. */
  status?: number | string;
  result?: unknown;
}

export interface ActionOutcome {
  ok: boolean;
  calls: ActionCall[];
  /** What undo needs to revert exactly this (recorded state, created ids…). */
  undo?: Record<string, unknown>;
  /** Readable summary for audit and alert notes. */
  summary: string;
  error?: string;
  /** Facts worth keeping on the alert itself (e.g. Cortex taxonomies), merged into nyx.response.annotations. */
  annotations?: Record<string, unknown>;
}

export interface DriverContext {
  client: Client;
  log: Logger;
  /** Aborts long calls (bounded waits). */
  signal?: AbortSignal;
  /** The engine's guardrails; a driver called without them still refuses the built-in protected targets. */
  guard?: TargetGuard;
}

export interface ActionDriver<Params> {
  /** The step type playbooks use, e.g. "block_ip", "isolate_endpoint", "thehive_alert". */
  readonly type: string;
  /** Validates and normalises step parameters (zod); throws a clear error naming the field. */
  parse(params: unknown): Params;
  /** The calls apply would make, changing nothing. */
  dryRun(params: Params): ActionCall[];
  apply(ctx: DriverContext, params: Params): Promise<ActionOutcome>;
  undo(ctx: DriverContext, params: Params, undo: Record<string, unknown>): Promise<ActionOutcome>;
  /** Whether the effect is still in place (e.g. the IP still blocked). */
  status(ctx: DriverContext, params: Params, undo: Record<string, unknown>): Promise<{ active: boolean; detail: string }>;
}
