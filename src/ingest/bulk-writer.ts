import type { Client } from '@elastic/elasticsearch';
import type { Source } from '../config/index.ts';
import { names } from '../bootstrap/desired.ts';
import type { SourcePipelines } from './source-pipelines.ts';

export interface SourceEvent {
  doc: Record<string, unknown>;
  /** Deterministic id (agent + sequence, or a content hash): a retried write stores it once. */
  id?: string;
}

export interface EventRejection {
  /** Position in the batch. */
  index: number;
  status: number;
  reason: string;
}

export interface WriteReport {
  dataStream: string;
  indexed: number;
  /** Already stored under the same id: a retry, not a new document. */
  duplicates: number;
  /** Documents a pipeline `drop` processor removed on purpose. */
  dropped: number;
  /** Documents kept with `error.message` because a processor failed. */
  pipelineErrors: number;
  rejected: EventRejection[];
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
  const dataStream = names.dataStream(input.source, input.namespace);
  const report: WriteReport = { dataStream, indexed: 0, duplicates: 0, dropped: 0, pipelineErrors: 0, rejected: [] };
  const inCluster = pipelines.runsInCluster(input.source);
  const operations: unknown[] = [];
  const positions: number[] = [];
  const stamp = { type: 'logs', dataset: input.source, namespace: input.namespace };
  input.events.forEach((event, i) => {
    let doc: Record<string, unknown> = { ...event.doc, data_stream: stamp };
    if (!inCluster) {
      const result = pipelines.normalise(input.source, doc, { _index: dataStream, ...(event.id ? { _id: event.id } : {}) });
      if (result.dropped) {
        report.dropped++;
        return;
      }
      doc = result.doc as Record<string, unknown>;
      if (result.error || (doc.error as { message?: unknown } | undefined)?.message) report.pipelineErrors++;
      // A data stream refuses documents without @timestamp; a pipeline that failed early may not have set it.
      if (doc['@timestamp'] === undefined) doc['@timestamp'] = new Date().toISOString();
    }
    operations.push({ create: { _index: dataStream, ...(event.id ? { _id: event.id } : {}) } }, doc);
    positions.push(i);
  });
  if (operations.length === 0) return report;
  const res = await client.bulk({ operations, refresh: input.refresh ?? false });
  res.items.forEach((item, n) => {
    const result = item.create;
    const index = positions[n] ?? n;
    if (!result) return;
    if (result.status === 409) report.duplicates++;
    else if (result.error) report.rejected.push({ index, status: result.status, reason: `${result.error.type}: ${result.error.reason ?? ''}`.trim() });
    else report.indexed++;
  });
  return report;
}
