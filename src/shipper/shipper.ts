import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { NyxError } from '../errors.ts';
import { getLogger, type Logger } from '../log/logger.ts';
import { IngestClient } from './client.ts';
import { inputId, outputTarget, type InputConfig, type ShipperConfig } from './config.ts';
import { hostIdentity, type CollectedEvent, type HostIdentity } from './event.ts';
import { DurableQueue, QueueFullError } from './queue.ts';
import { BatchSender, backoffDelay, DEAD_LETTER_FILE, type EventOutput } from './sender.ts';
import { writeStatus, type ShipperStatus } from './status.ts';
import type { Collector, CollectorContext, EventSink } from './collectors/types.ts';
import { FileTailCollector } from './collectors/file-tail.ts';
import { JournaldCollector } from './collectors/journald.ts';
import { TelemetryCollector } from './collectors/telemetry.ts';
import { ProcessCollector } from './collectors/processes.ts';
import { NetworkCollector } from './collectors/network.ts';
import { SoftwareInventoryCollector } from './collectors/software.ts';
import { WindowsEventLogCollector } from './collectors/wineventlog.ts';

export const SHIPPER_VERSION = '0.1.0';

const agentIdentitySchema = z.object({ agent_id: z.string().min(1), agent_key: z.string().min(1), server: z.string(), enrolled_at: z.string() });
export type AgentIdentity = z.infer<typeof agentIdentitySchema>;

export function agentFile(stateDir: string): string {
  return join(stateDir, 'agent.json');
}

export function readAgentIdentity(stateDir: string): AgentIdentity | null {
  const path = agentFile(stateDir);
  if (!existsSync(path)) return null;
  const parsed = agentIdentitySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new NyxError(`${path}: not a valid agent identity file`, 'delete it and enroll again with a fresh token');
  return parsed.data;
}

/**
 * This installation's instance id, made (and fsync'd) once before its first enrollment: sent with every enrollment,
 * so a shipper killed after the server enrolled it but before `agent.json` was written enrolls as the same agent
 * again instead of using up its one-use token.
 */
export function instanceId(stateDir: string): string {
  const path = join(stateDir, 'instance-id');
  if (existsSync(path)) {
    const kept = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{22,128}$/.test(kept)) return kept;
  }
  const made = randomBytes(24).toString('base64url');
  const fd = openSync(path, 'w', 0o600);
  try {
    writeSync(fd, `${made}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return made;
}

function enrollmentToken(config: ShipperConfig): string | undefined {
  if (process.env.NYX_ENROLLMENT_TOKEN) return process.env.NYX_ENROLLMENT_TOKEN;
  if (config.enrollment_token_file && existsSync(config.enrollment_token_file)) return readFileSync(config.enrollment_token_file, 'utf8').trim();
  return config.enrollment_token;
}

export function createCollector(input: InputConfig, id: string, ctx: CollectorContext): Collector {
  switch (input.type) {
    case 'files':
      return new FileTailCollector(id, input, ctx);
    case 'journald':
      return new JournaldCollector(id, input, ctx);
    case 'telemetry':
      return new TelemetryCollector(id, input.interval_ms, ctx);
    case 'processes':
      return new ProcessCollector(id, input.interval_ms, ctx);
    case 'network':
      return new NetworkCollector(id, input.interval_ms, ctx);
    case 'software':
      return new SoftwareInventoryCollector(id, input.interval_ms, ctx);
    case 'wineventlog':
      return new WindowsEventLogCollector(id, input, ctx);
  }
}

/**
 * Shipper: the running `nyx ship`. Opens the durable queue, starts the collectors (they queue
 * even before enrollment completes), enrolls once if needed, then sends until stopped.
 */
export class Shipper {
  private readonly log: Logger = getLogger('shipper');
  private queue: DurableQueue | undefined;
  private sender: BatchSender | undefined;
  private collectors: Collector[] = [];
  private identity: AgentIdentity | null = null;
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly host: HostIdentity;
  private readonly startedAt = new Date().toISOString();
  private read = 0;
  private queued = 0;
  private blocked = 0;
  private phase: ShipperStatus['state'] = 'starting';
  private lastError: string | undefined;
  private stopping = false;
  private enrolling: Promise<void> | undefined;
  /** Direct mode (output.elasticsearch): the agent id this shipper made for itself. */
  private directAgentId: string | undefined;
  private closeOutput: (() => Promise<void>) | undefined;

  constructor(private readonly config: ShipperConfig) {
    this.host = hostIdentity(config.hostname);
  }

  async start(): Promise<void> {
    const { config } = this;
    mkdirSync(config.state_dir, { recursive: true, mode: 0o700 });
    this.queue = DurableQueue.open(join(config.state_dir, 'queue'), {
      maxEvents: config.queue.max_events,
      maxBytes: config.queue.max_bytes,
      policy: config.queue.policy,
      segmentBytes: config.queue.segment_bytes,
    });
    const direct = config.output.elasticsearch;
    let output: EventOutput;
    let client: IngestClient | undefined;
    if (direct) {
      // Loaded only in direct mode: the ingest code (pipelines, Elasticsearch client) stays out of the default path.
      const { DirectElasticsearchOutput } = await import('./direct-output.ts');
      const out = new DirectElasticsearchOutput(direct, { stateDir: config.state_dir, hostname: this.host.hostname, requestTimeoutMs: config.output.request_timeout_ms });
      this.directAgentId = out.agentId;
      this.closeOutput = () => out.close();
      output = out;
    } else {
      this.identity = readAgentIdentity(config.state_dir);
      if (!this.identity && !enrollmentToken(config)) {
        throw new NyxError('this agent is not enrolled and no enrollment token is configured', 'set enrollment_token_file in the config, or NYX_ENROLLMENT_TOKEN');
      }
      client = new IngestClient(config.server as string, config.output.request_timeout_ms, config.output.gzip);
      output = client;
    }
    this.sender = new BatchSender(
      this.queue,
      output,
      () => this.identity?.agent_key ?? '',
      {
        batchSize: config.output.batch_size,
        flushIntervalMs: config.output.flush_interval_ms,
        backoffInitialMs: config.output.backoff_initial_ms,
        backoffMaxMs: config.output.backoff_max_ms,
        stateDir: config.state_dir,
      },
      this.log,
    );
    config.inputs.forEach((input, i) => {
      const id = inputId(input, i);
      this.collectors.push(createCollector(input, id, { sink: this.sinkFor(id), host: this.host, log: this.log.child({ input: id }) }));
    });
    for (const c of this.collectors) await c.start();
    this.writeStatus();
    this.statusTimer = setInterval(() => this.writeStatus(), config.status_interval_ms);
    if (direct || this.identity) this.beginSending();
    else this.enrolling = this.enrollUntilDone(client as IngestClient);
  }

  private beginSending(): void {
    this.phase = 'running';
    this.sender?.start();
  }

  /** Enrolls, retrying while the server is unreachable; a refused token stops the shipper. */
  private async enrollUntilDone(client: IngestClient): Promise<void> {
    this.phase = 'enrolling';
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        const token = enrollmentToken(this.config) as string;
        const instance_id = instanceId(this.config.state_dir);
        const res = await client.enroll({ token, hostname: this.host.hostname, os: this.host.os, ip: this.host.ip ?? '127.0.0.1', version: SHIPPER_VERSION, instance_id });
        const identity: AgentIdentity = { agent_id: res.agent_id, agent_key: res.agent_key, server: this.config.server as string, enrolled_at: new Date().toISOString() };
        const path = agentFile(this.config.state_dir);
        writeFileSync(path, JSON.stringify(identity, null, 2), { mode: 0o600 });
        chmodSync(path, 0o600); // mode only applies on create
        this.identity = identity;
        this.log.info({ agent_id: res.agent_id }, 'enrolled');
        this.beginSending();
        return;
      } catch (err) {
        this.lastError = (err as Error).message;
        if (err instanceof NyxError && /refused/.test(err.message)) {
          this.log.error({ err }, 'enrollment refused');
          this.phase = 'unauthorized';
          this.writeStatus();
          process.exitCode = 1;
          throw err;
        }
        await new Promise((r) => setTimeout(r, backoffDelay(attempt, this.config.output.backoff_initial_ms, this.config.output.backoff_max_ms)));
      }
    }
  }

  /** Resolves when enrollment (if any) has finished or failed. */
  async enrolled(): Promise<void> {
    await this.enrolling;
  }

  private sinkFor(id: string): EventSink {
    return {
      write: (events: CollectedEvent[], cursor?: unknown): boolean => {
        const queue = this.queue as DurableQueue;
        this.read += events.length;
        try {
          queue.append(events, cursor === undefined ? undefined : { id, value: cursor });
        } catch (err) {
          if (err instanceof QueueFullError) {
            this.blocked += events.length;
            return false;
          }
          throw err;
        }
        this.queued += events.length;
        this.sender?.notify();
        return true;
      },
      cursor: () => this.queue?.cursor(id),
    };
  }

  status(): ShipperStatus {
    const q = (this.queue as DurableQueue).stats();
    const s = this.sender;
    const state = this.phase === 'running' && s ? s.state : this.phase;
    return {
      pid: process.pid,
      started_at: this.startedAt,
      updated_at: new Date().toISOString(),
      state,
      server: outputTarget(this.config),
      ...(this.config.output.elasticsearch ? { output: 'elasticsearch' as const } : {}),
      ...((this.identity?.agent_id ?? this.directAgentId) ? { agent_id: this.identity?.agent_id ?? this.directAgentId } : {}),
      counters: { read: this.read, queued: this.queued, sent: s?.counters.sent ?? 0, retried: s?.counters.retried ?? 0, rejected: s?.counters.rejected ?? 0, blocked: this.blocked },
      queue: {
        depth: q.depth,
        bytes: q.bytes,
        ...(q.oldestEnqueuedAt !== undefined ? { oldest_age_s: Math.round((Date.now() - q.oldestEnqueuedAt) / 1000) } : {}),
        in_flight: q.inFlight,
        next_seq: q.nextSeq,
        dropped_total: q.totals.dropped,
        sent_total: q.totals.sent,
        rejected_total: q.totals.rejected,
      },
      dead_letter_file: join(this.config.state_dir, DEAD_LETTER_FILE),
      ...((s?.lastError ?? this.lastError) ? { last_error: s?.lastError ?? this.lastError } : {}),
      inputs: this.collectors.map((c) => c.id),
    };
  }

  private writeStatus(): void {
    try {
      writeStatus(this.config.state_dir, this.status());
    } catch (err) {
      this.log.warn({ err }, 'cannot write the status file');
    }
  }

  /** Stops reading, lets the request in flight settle, checkpoints the queue. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const c of this.collectors) await c.stop();
    await this.sender?.stop();
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.phase = 'stopped';
    this.writeStatus();
    this.queue?.close();
    await this.closeOutput?.();
  }
}
