import type { Client, TransportRequestOptions } from '@elastic/elasticsearch';
import type { Source } from '../config/index.ts';
import { names } from '../bootstrap/desired.ts';
import type { SourcePipelines } from './source-pipelines.ts';
import { stampServerFields } from './server-fields.ts';
import { checkEventShape, DEFAULT_EVENT_SHAPE_LIMITS, type EventShapeLimits } from './event-shape.ts';

export interface SourceEvent {
  doc: Record<string, unknown>;
  /** Deterministic id (agent + sequence, or a content hash): a retried write stores it once. */
  id?: string;
  /** Server-owned roots (e.g. `agent`) set on the document after its pipeline ran, as `data_stream` is. */
  owned?: Record<string, unknown>;
}

export interface EventRejection {
  /** Position in the batch. */
  index: number;
  status: number;
  reason: string;
  /** Set when Nyx refused the document before sending it (its pipeline's output broke a bound, or normalising threw). */
  field?: string;
}

/** What happened to one event of the batch, by position. */
export type EventOutcome = 'indexed' | 'duplicate' | 'dropped' | 'rejected';

export interface WriteReport {
  dataStream: string;
  indexed: number;
  /** Already stored under the same id: a retry, not a new document. */
  duplicates: number;
  /** Documents a pipeline `drop` processor removed on purpose. */
  dropped: number;
  /** Documents kept with `error.message` because a processor failed. */
  pipelineErrors: number;
  /** Documents the mappings refused (a field of the wrong type), stored instead in a safe form with the reason. */
  quarantined: number;
  rejected: EventRejection[];
  /** One entry per input event, in input order. */
  outcomes: EventOutcome[];
}

/** A batch after its pipeline ran (when it runs here), before it is sent: hooks may read or enrich `docs`. */
export interface PreparedWrite {
  dataStream: string;
  /** The documents to index, with the input position each came from. */
  docs: Array<{ index: number; doc: Record<string, unknown>; input: Record<string, unknown>; id?: string }>;
  report: WriteReport;
  stamp: { type: string; dataset: string; namespace: string };
}

/**
 * Runs one source's pipeline in process when Elasticsearch cannot (otherwise the data stream's default
 * pipeline will), stamping `data_stream`. Never throws for a bad document.
 *
 * The stamp is authoritative: it is set again after the pipeline ran (a `json` processor with add_to_root can
 * write any root key from an agent's record), and every other spelling of it (`data_stream.namespace` as a
 * dotted root key) is removed, so a stored document's `data_stream` always names the data stream it is in.
 */
export function prepareSourceEvents(pipelines: SourcePipelines, input: { source: Source; namespace: string; events: SourceEvent[]; shape?: EventShapeLimits }): PreparedWrite {
  const dataStream = names.dataStream(input.source, input.namespace);
  const report: WriteReport = { dataStream, indexed: 0, duplicates: 0, dropped: 0, pipelineErrors: 0, quarantined: 0, rejected: [], outcomes: [] };
  const inCluster = pipelines.runsInCluster(input.source);
  const docs: PreparedWrite['docs'] = [];
  const stamp = { type: 'logs', dataset: input.source, namespace: input.namespace };
  const outputShape = pipelineOutputShape(input.shape ?? DEFAULT_EVENT_SHAPE_LIMITS);
  for (let i = 0; i < input.events.length; i++) {
    const event = input.events[i]!;
    // One event's failure, however unexpected, costs that event: it is refused with the reason, the rest go on.
    try {
      const doc = prepareOne(pipelines, { source: input.source, dataStream, inCluster, stamp }, event, report, i);
      if (!doc) continue;
      // After the pipeline: nothing it parsed into the root can replace the server's own fields.
      stampServerFields(doc, event.owned ? { ...event.owned, data_stream: stamp } : { data_stream: stamp });
      const shape = checkEventShape(doc, outputShape);
      if (!shape.ok) {
        refuse(report, i, shape.field, `the ${input.source} pipeline's output: ${shape.reason}`);
        continue;
      }
      keepOriginal(doc, event.doc);
      docs.push(event.id ? { index: i, doc, input: event.doc, id: event.id } : { index: i, doc, input: event.doc });
    } catch (err) {
      refuse(report, i, '(document)', `normalising the event failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { dataStream, docs, report, stamp };
}

/**
 * The bound on a document after its pipeline ran: as deep as an event may be, and room for the ECS fields the
 * pipeline adds. A pipeline that parses a JSON string (cowrie's `raw`) can build any depth; this is what
 * keeps such a document from ever reaching a serialiser.
 */
function pipelineOutputShape(input: EventShapeLimits): EventShapeLimits {
  return { maxDepth: input.maxDepth, maxFields: input.maxFields + PIPELINE_ADDED_FIELDS };
}

/** Fields a source pipeline may add to an event (ECS objects, event.*, data_stream, enrichment). */
const PIPELINE_ADDED_FIELDS = 500;

function refuse(report: WriteReport, index: number, field: string, reason: string): void {
  report.rejected.push({ index, status: 422, field, reason });
  report.outcomes[index] = 'rejected';
}

/** Where one source's events go, and whether its pipeline runs in the cluster (then nothing runs here). */
interface SourceTarget {
  source: Source;
  dataStream: string;
  inCluster: boolean;
  stamp: PreparedWrite['stamp'];
}

/** One event through its pipeline (when it runs here): the document to send, or undefined when it was dropped. */
function prepareOne(pipelines: SourcePipelines, target: SourceTarget, event: SourceEvent, report: WriteReport, i: number): Record<string, unknown> | undefined {
  const { source, dataStream, inCluster, stamp } = target;
  let doc: Record<string, unknown> = { ...event.doc, data_stream: stamp };
  if (!inCluster) {
    const result = pipelines.normalise(source, doc, { _index: dataStream, ...(event.id ? { _id: event.id } : {}) });
    if (result.dropped) {
      report.dropped++;
      report.outcomes[i] = 'dropped';
      return undefined;
    }
    doc = result.doc as Record<string, unknown>;
    if (result.error || (doc.error as { message?: unknown } | undefined)?.message) report.pipelineErrors++;
    // A data stream refuses documents without @timestamp; a pipeline that failed early may not have set it.
    if (doc['@timestamp'] === undefined) doc['@timestamp'] = new Date().toISOString();
  }
  return doc;
}

/**
 * ECS keeps the raw original in event.original. Pipelines copy a raw line from `message`; a record that
 * arrived structured (no raw line) keeps its JSON form, so nothing about the input is ever lost.
 */
function keepOriginal(doc: Record<string, unknown>, input: Record<string, unknown>): void {
  const event = doc.event && typeof doc.event === 'object' && !Array.isArray(doc.event) ? (doc.event as Record<string, unknown>) : undefined;
  if (event && typeof event.original === 'string' && event.original) return;
  // The input is stringified before anything is written, so it is the input as it came, even when the
  // document shares its `event` object with it (a pipeline that runs in the cluster copies nothing here).
  const original = JSON.stringify(input);
  if (event && event !== input.event) event.original = original;
  else doc.event = { ...(event ?? {}), original };
}

/** Sends a prepared batch with `create` (so ids make retries idempotent) and fills in the report. */
export async function sendPreparedEvents(
  client: Client,
  prepared: PreparedWrite,
  refresh: boolean | 'wait_for' = false,
  requestOptions: TransportRequestOptions = {},
): Promise<WriteReport> {
  const { report, docs, dataStream } = prepared;
  if (docs.length === 0) return report;
  // Action lines as ready JSON (the client passes strings through): one small object and stringify less per event.
  const indexJson = JSON.stringify(dataStream);
  const operations: unknown[] = new Array(docs.length * 2);
  for (let n = 0; n < docs.length; n++) {
    const d = docs[n]!;
    operations[2 * n] = d.id ? `{"create":{"_index":${indexJson},"_id":${JSON.stringify(d.id)}}}` : `{"create":{"_index":${indexJson}}}`;
    operations[2 * n + 1] = d.doc;
  }
  // Only what the report reads comes back: a full bulk answer is ~250 bytes per item to parse.
  const res = await client.bulk({ operations: operations as never, refresh, filter_path: BULK_ANSWER_FIELDS }, requestOptions);
  const retry: Array<{ n: number; doc: Record<string, unknown> }> = [];
  res.items.forEach((item, n) => {
    const result = item.create;
    const index = docs[n]?.index ?? n;
    if (!result) return;
    if (result.status === 409) {
      report.duplicates++;
      report.outcomes[index] = 'duplicate';
    } else if (result.error && MAPPING_ERRORS.has(result.error.type)) {
      const reason = `${result.error.type}: ${result.error.reason ?? ''}`.trim();
      retry.push({ n, doc: quarantine(docs[n]!.doc, docs[n]!.input, reason, prepared.stamp) });
    } else if (result.error) {
      report.rejected.push({ index, status: result.status, reason: `${result.error.type}: ${result.error.reason ?? ''}`.trim() });
      report.outcomes[index] = 'rejected';
    } else {
      report.indexed++;
      report.outcomes[index] = 'indexed';
    }
  });
  if (retry.length) {
    // The mappings refused these: store them in a form that cannot conflict, so nothing is lost.
    const again = await client.bulk({ operations: retry.flatMap((r) => [{ create: { _index: dataStream, ...(docs[r.n]!.id ? { _id: docs[r.n]!.id } : {}) } }, r.doc]), refresh, filter_path: BULK_ANSWER_FIELDS }, requestOptions);
    again.items.forEach((item, k) => {
      const result = item.create;
      const index = docs[retry[k]!.n]!.index;
      if (!result) return;
      if (result.status === 409) {
        report.duplicates++;
        report.outcomes[index] = 'duplicate';
      } else if (result.error) {
        report.rejected.push({ index, status: result.status, reason: `${result.error.type}: ${result.error.reason ?? ''}`.trim() });
        report.outcomes[index] = 'rejected';
      } else {
        report.indexed++;
        report.quarantined++;
        report.outcomes[index] = 'indexed';
      }
    });
  }
  return report;
}

const BULK_ANSWER_FIELDS = ['items.*.status', 'items.*.error.type', 'items.*.error.reason'];

/** Errors that mean "this document does not fit the mappings", as opposed to the cluster being unwell. */
const MAPPING_ERRORS = new Set(['document_parsing_exception', 'mapper_parsing_exception', 'illegal_argument_exception', 'strict_dynamic_mapping_exception']);

/**
 * The safe form of a document the mappings refused: only fields whose types cannot conflict,
 * the original kept whole, and the cluster's reason.
 */
function quarantine(doc: Record<string, unknown>, input: Record<string, unknown>, reason: string, stamp: PreparedWrite['stamp']): Record<string, unknown> {
  const event = (doc.event && typeof doc.event === 'object' ? doc.event : {}) as Record<string, unknown>;
  const original = typeof event.original === 'string' && event.original ? event.original : JSON.stringify(input);
  const timestamp = typeof doc['@timestamp'] === 'string' && !Number.isNaN(Date.parse(doc['@timestamp'])) ? doc['@timestamp'] : new Date().toISOString();
  return {
    '@timestamp': timestamp,
    data_stream: stamp,
    event: { kind: 'pipeline_error', original },
    error: { type: 'mapping_rejected', message: `the ${stamp.dataset} mappings refused the document: ${reason}` },
    tags: ['nyx_mapping_rejected'],
  };
}

/**
 * Writes one source's events into `logs-<source>-<namespace>` through the source pipeline:
 * Elasticsearch runs it when it can; otherwise it runs here first. `create` with ids makes retries idempotent.
 */
export async function writeSourceEvents(
  client: Client,
  pipelines: SourcePipelines,
  input: { source: Source; namespace: string; events: SourceEvent[]; refresh?: boolean | 'wait_for' },
): Promise<WriteReport> {
  return sendPreparedEvents(client, prepareSourceEvents(pipelines, input), input.refresh ?? false);
}
