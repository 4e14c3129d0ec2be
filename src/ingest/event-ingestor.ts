import { createHash } from 'node:crypto';
import { errors, type Client, type TransportRequestOptions } from '@elastic/elasticsearch';
import type { Source } from '../config/index.ts';
import type { AgentIdentity } from '../agents/registry.ts';
import { prepareSourceEvents, sendPreparedEvents, type SourceEvent, type WriteReport } from './bulk-writer.ts';
import type { SourcePipelines } from './source-pipelines.ts';
import { validateEvent } from './event-contract.ts';
import { DEFAULT_EVENT_SHAPE_LIMITS, type EventShapeLimits } from './event-shape.ts';
import { routeEvent } from './agent-events.ts';
import type { IngestHooks } from './hooks.ts';
import type { IngestMetrics } from './metrics.ts';

/** One event of a request body: its JSON value, or why its line could not be parsed. */
export type IngestItem = { value: unknown; text?: string } | { parseError: string; text: string };

export type EventResult =
  | { index: number; status: 'stored' | 'duplicate' | 'dropped' }
  | { index: number; status: 'rejected'; field: string; reason: string }
  /** Not stored because Elasticsearch pushed back: send it again (its id makes that safe). */
  | { index: number; status: 'retry'; reason: string };

export interface IngestOutcome {
  results: EventResult[];
  /** True when at least one event must be sent again (the API answers 503 with Retry-After). */
  retry: boolean;
}

/** Elasticsearch refused or could not take the batch: nothing unconfirmed is acknowledged. */
export class BackpressureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackpressureError';
  }
}

/**
 * The ingest path's retries of a cluster it cannot reach: the client's stock pauses (1-2 s, then 2-4 s) would
 * hold an agent's request ~4.5 s before its 503; the agent keeps the events and retries on its own, so a
 * short pause (~0.1 s, then ~0.2 s) is enough to ride out a dropped connection and answers promptly otherwise.
 */
const PROMPT_RETRIES = { retryBackoff: (_min: number, _max: number, attempt: number) => 0.05 * 2 ** attempt * (1 + Math.random()) };

/**
 * The ingest path's bounded wait. A bulk write to a primary that is unavailable (its node just died, no copy
 * yet promoted) waits Elasticsearch's `timeout` (1 min by default) for it, far past an agent's own request
 * timeout: the agent would give up and resend, and the request held a slot all along. Bounded, the items come
 * back 503 after `writeWaitSeconds` (the API answers 503 + Retry-After, the agent resends); the client's
 * request timeout bounds a node that stops answering at all (a timeout is not retried, so it is the bound).
 */
function boundedWrite(writeWaitSeconds: number): TransportRequestOptions {
  return { ...PROMPT_RETRIES, querystring: { timeout: `${writeWaitSeconds}s` }, requestTimeout: (writeWaitSeconds + 10) * 1000 };
}

export const deadLetterStream = (namespace: string): string => `nyx-dead-letter-${namespace}`;

/** Dead letters keep the original as text, capped so one hostile event cannot fill the store. */
const MAX_ORIGINAL_CHARS = 256 * 1024;

interface DeadLetter {
  index: number;
  field: string;
  reason: string;
  kind: 'validation' | 'normalisation' | 'indexing';
  original: string;
}

/** The event as the agent sent it, for a dead letter: its own text when it came as a line, else its JSON. */
function originalText(item: IngestItem): string {
  return 'parseError' in item ? item.text : item.text ?? JSON.stringify(item.value);
}

/** True for failures that say "not now" rather than "never": the event is retried, not dead-lettered. */
function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Turns an error thrown by a bulk call into BackpressureError when Elasticsearch is away or overloaded. */
function asBackpressure(err: unknown): unknown {
  // A timeout is the bounded write wait running out (a primary still unavailable, or a node that stopped answering).
  if (err instanceof errors.TimeoutError) return new BackpressureError('Elasticsearch did not take the write in time (a shard may be unavailable)');
  if (err instanceof errors.ConnectionError || err instanceof errors.NoLivingConnectionsError) {
    return new BackpressureError(`Elasticsearch is unreachable: ${err.message}`);
  }
  if (err instanceof errors.ResponseError && isRetryableStatus(err.statusCode ?? 0)) {
    return new BackpressureError(`Elasticsearch answered ${err.statusCode}`);
  }
  return err;
}

export interface EventIngestorOptions {
  client: Client;
  pipelines: SourcePipelines;
  hooks: IngestHooks;
  metrics: IngestMetrics;
  refresh?: boolean | 'wait_for';
  /** How deep and wide one event (and its pipeline's output) may be: serve.max_event_depth / max_event_fields. */
  shape?: EventShapeLimits;
  /** How long a write waits for an unavailable primary before its events are answered "retry" (serve.write_wait_seconds). */
  writeWaitSeconds?: number;
}

/**
 * The ingest path behind `POST /api/ingest`, independent of HTTP: validate each event, route it to its
 * source, normalise, run the hooks, bulk-`create` with deterministic ids, dead-letter what cannot be
 * stored, and report one result per event. Throws BackpressureError when Elasticsearch cannot take it.
 */
export class EventIngestor {
  private readonly writeOptions: TransportRequestOptions;

  constructor(private readonly options: EventIngestorOptions) {
    this.writeOptions = boundedWrite(options.writeWaitSeconds ?? 5);
  }

  async ingest(agent: AgentIdentity, items: IngestItem[]): Promise<IngestOutcome> {
    const results: EventResult[] = new Array(items.length);
    const deadLetters: DeadLetter[] = [];
    // Plain loops, no per-event closures: this runs for every event of every request.
    const bySource = new Map<Source, Array<SourceEvent & { index: number }>>();
    for (let index = 0; index < items.length; index++) {
      const item = items[index]!;
      if ('parseError' in item) {
        results[index] = { index, status: 'rejected', field: '(event)', reason: item.parseError };
        deadLetters.push({ index, field: '(event)', reason: item.parseError, kind: 'validation', original: item.text });
        continue;
      }
      const routed = this.route(agent, item.value);
      if (!routed.ok) {
        results[index] = { index, status: 'rejected', field: routed.field, reason: routed.reason };
        deadLetters.push({ index, field: routed.field, reason: routed.reason, kind: 'validation', original: originalText(item) });
        continue;
      }
      let group = bySource.get(routed.source);
      if (!group) bySource.set(routed.source, (group = []));
      group.push({ doc: routed.doc, id: routed.id, owned: routed.owned, index });
    }

    for (const [source, group] of bySource) {
      const report = await this.writeSource(agent, source, group);
      for (let n = 0; n < group.length; n++) {
        const outcome = report.outcomes[n];
        const index = group[n]!.index;
        if (outcome === 'indexed') results[index] = { index, status: 'stored' };
        else if (outcome === 'duplicate' || outcome === 'dropped') results[index] = { index, status: outcome };
        else {
          const rejection = report.rejected.find((r) => r.index === n);
          const reason = rejection?.reason ?? 'not indexed';
          if (rejection && rejection.field === undefined && isRetryableStatus(rejection.status)) results[index] = { index, status: 'retry', reason };
          else {
            // A field on the rejection: Nyx refused the normalised document before sending it.
            const field = rejection?.field ?? '(document)';
            results[index] = { index, status: 'rejected', field, reason };
            deadLetters.push({ index, field, reason, kind: rejection?.field === undefined ? 'indexing' : 'normalisation', original: originalText(items[index]!) });
          }
        }
      }
    }

    await this.writeDeadLetters(agent, deadLetters);
    this.count(agent.namespace, results, deadLetters.length);
    return { results, retry: results.some((r) => r.status === 'retry') };
  }

  /** Validates and routes one event; anything it throws, however unexpected, refuses that event alone. */
  private route(agent: AgentIdentity, value: unknown): ReturnType<typeof routeEvent> {
    try {
      const checked = validateEvent(value, this.options.shape ?? DEFAULT_EVENT_SHAPE_LIMITS);
      return checked.ok ? routeEvent(agent, checked.event) : checked;
    } catch (err) {
      return { ok: false, field: '(event)', reason: `the event could not be read: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  /** Metrics per outcome, not per event: one label lookup for each outcome the batch had. */
  private count(namespace: string, results: EventResult[], deadLettered: number): void {
    const tally = new Map<EventResult['status'], number>();
    for (const r of results) tally.set(r.status, (tally.get(r.status) ?? 0) + 1);
    for (const [outcome, n] of tally) this.options.metrics.events.inc({ namespace, outcome }, n);
    this.options.metrics.events.inc({ namespace, outcome: 'dead_lettered' }, deadLettered);
  }

  private async writeSource(agent: AgentIdentity, source: Source, events: SourceEvent[]): Promise<WriteReport> {
    const { client, pipelines, hooks, metrics } = this.options;
    const prepared = prepareSourceEvents(pipelines, { source, namespace: agent.namespace, events, shape: this.options.shape ?? DEFAULT_EVENT_SHAPE_LIMITS });
    const ctx = { namespace: agent.namespace, source, dataStream: prepared.dataStream, agentId: agent.agentId, normalised: !pipelines.runsInCluster(source) };
    if (hooks.has('onEvents')) {
      const docs = prepared.docs.map((d) => d.doc);
      for (const hook of await hooks.run('onEvents', docs, { ...ctx, ids: prepared.docs.map((d) => d.id) })) metrics.hookFailures.inc({ hook });
    }
    const started = performance.now();
    let report: WriteReport;
    try {
      report = await sendPreparedEvents(client, prepared, this.options.refresh ?? false, this.writeOptions);
    } catch (err) {
      throw asBackpressure(err);
    } finally {
      metrics.bulkLatency.observe((performance.now() - started) / 1000);
    }
    if (hooks.has('onStored')) {
      const stored = prepared.docs.filter((d) => report.outcomes[d.index] === 'indexed');
      for (const hook of await hooks.run('onStored', stored.map((d) => d.doc), { ...ctx, ids: stored.map((d) => d.id) })) metrics.hookFailures.inc({ hook });
    }
    return report;
  }

  /** Stores what could not be stored as an event, with why; an id from the original keeps retries single. */
  private async writeDeadLetters(agent: AgentIdentity, letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const index = deadLetterStream(agent.namespace);
    const now = new Date().toISOString();
    const operations = letters.flatMap((l) => {
      const truncated = l.original.length > MAX_ORIGINAL_CHARS;
      const id = createHash('sha256').update(`${agent.agentId}\n${l.field}\n${l.original}`).digest('base64url');
      return [
        { create: { _index: index, _id: id } },
        {
          '@timestamp': now,
          namespace: agent.namespace,
          agent: { id: agent.agentId, name: agent.hostname },
          event: { original: truncated ? l.original.slice(0, MAX_ORIGINAL_CHARS) : l.original, index: l.index, ...(truncated ? { truncated: true } : {}) },
          error: { type: l.kind, field: l.field, message: l.reason },
        },
      ];
    });
    let res;
    try {
      res = await this.options.client.bulk({ operations, refresh: this.options.refresh ?? false }, this.writeOptions);
    } catch (err) {
      throw asBackpressure(err);
    }
    const failed = res.items.find((i) => i.create?.error && i.create.status !== 409);
    // A rejection the client drops must be on record; if it is not, the client has to send it again.
    if (failed?.create) throw new BackpressureError(`the dead-letter store refused an event (${failed.create.status}: ${failed.create.error?.reason ?? failed.create.error?.type})`);
  }
}
