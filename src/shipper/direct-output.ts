import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errors } from '@elastic/elasticsearch';
import { z } from 'zod';
import { NyxError } from '../errors.ts';
import { configSchema, type NyxConfig, type Source } from '../config/index.ts';
import { createElasticClient, type Client } from '../elastic/client.ts';
import { detectCapabilities } from '../elastic/capabilities.ts';
import { validateEvent } from '../ingest/event-contract.ts';
import { routeEvent } from '../ingest/agent-events.ts';
import { SourcePipelines } from '../ingest/source-pipelines.ts';
import { prepareSourceEvents, sendPreparedEvents, type SourceEvent, type WriteReport } from '../ingest/bulk-writer.ts';
import type { IngestOutcome, ItemOutcome } from './client.ts';
import type { ElasticsearchOutputConfig } from './config.ts';
import type { AgentEvent } from './event.ts';
import type { EventOutput } from './sender.ts';

/**
 * Direct mode: the shipper is its own ingest API. Each event is validated with the event contract,
 * routed to its source, normalised by the same source pipelines, and written with `create` and a
 * deterministic id (agent id + seq) through the ingest API's own bulk writer, so a retry after a
 * crash stores nothing twice. Results map onto the queue's usual outcomes.
 */

const directIdentitySchema = z.object({ agent_id: z.string().min(1), created_at: z.string(), mode: z.literal('elasticsearch') });

export function directIdentityFile(stateDir: string): string {
  return join(stateDir, 'direct-agent.json');
}

/**
 * The agent id of a direct-mode shipper: generated once and kept in the state dir (next to the queue
 * whose seqs it pairs with), so ids stay stable across restarts.
 */
export function directAgentId(stateDir: string): string {
  const path = directIdentityFile(stateDir);
  if (existsSync(path)) {
    const parsed = directIdentitySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new NyxError(`${path}: not a valid agent identity file`, 'delete it together with the queue directory to start over');
    return parsed.data.agent_id;
  }
  const identity = { agent_id: randomUUID(), created_at: new Date().toISOString(), mode: 'elasticsearch' as const };
  writeFileSync(path, JSON.stringify(identity, null, 2), { mode: 0o600 });
  chmodSync(path, 0o600);
  return identity.agent_id;
}

/** Reads the API key from the env var or file the config names; the message never contains the key. */
export function readApiKey(o: ElasticsearchOutputConfig): string {
  if (o.api_key_env) {
    const key = process.env[o.api_key_env]?.trim();
    if (!key) throw new NyxError(`output.elasticsearch.api_key_env: the environment variable ${o.api_key_env} is not set`);
    return key;
  }
  const file = o.api_key_file as string;
  let key: string;
  try {
    key = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new NyxError(`output.elasticsearch.api_key_file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!key) throw new NyxError(`output.elasticsearch.api_key_file: ${file} is empty`);
  return key;
}

export interface DirectOutputOptions {
  stateDir: string;
  hostname: string;
  requestTimeoutMs: number;
}

type Failure = { kind: 'unauthorized'; status: number; reason: string } | { kind: 'retry'; status: number; reason: string };

/** An error from Elasticsearch (or its absence) as "refused credentials" or "try again later". */
function classify(err: unknown): Failure {
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode ?? 0;
    if (status === 401 || status === 403) return { kind: 'unauthorized', status, reason: `Elasticsearch refused the API key (HTTP ${status})` };
    return { kind: 'retry', status, reason: `Elasticsearch answered ${status}` };
  }
  if (err instanceof errors.ConnectionError || err instanceof errors.TimeoutError || err instanceof errors.NoLivingConnectionsError) {
    return { kind: 'retry', status: 0, reason: `Elasticsearch is unreachable: ${err.message}` };
  }
  if (err instanceof NyxError) {
    // detectCapabilities explains its errors; a refused credential keeps its status in the text.
    const auth = /\((401|403)\)/.exec(err.message);
    if (auth) return { kind: 'unauthorized', status: Number(auth[1]), reason: err.message };
    return { kind: 'retry', status: 0, reason: err.message };
  }
  return { kind: 'retry', status: 0, reason: (err as Error).message ?? String(err) };
}

export class DirectElasticsearchOutput implements EventOutput {
  readonly refusal = { by: 'Elasticsearch', credential: 'API key' };
  readonly agentId: string;
  private readonly nyxConfig: NyxConfig;
  private client: Client;
  private apiKey: string;
  private pipelines: SourcePipelines | undefined;
  private reloadKey = false;

  constructor(
    private readonly o: ElasticsearchOutputConfig,
    private readonly options: DirectOutputOptions,
  ) {
    this.agentId = directAgentId(options.stateDir);
    this.nyxConfig = configSchema.parse({
      elasticsearch: { url: o.url, ...(o.ca_file ? { ca_file: o.ca_file } : {}), request_timeout_ms: options.requestTimeoutMs },
      namespace: o.namespace,
      ingest: { timezone: o.timezone },
    });
    this.apiKey = readApiKey(o);
    this.client = this.connect();
    if (o.pipelines === 'local') this.pipelines = SourcePipelines.offline(this.nyxConfig);
  }

  private connect(): Client {
    return createElasticClient(this.nyxConfig, { elasticsearchApiKey: this.apiKey });
  }

  /** After a refusal the key is read again, so a fixed env/file is picked up by the next try. */
  private refreshKey(): void {
    if (!this.reloadKey) return;
    this.reloadKey = false;
    let key: string;
    try {
      key = readApiKey(this.o);
    } catch {
      return; // keep the old one; the next refusal says so
    }
    if (key === this.apiKey) return;
    this.apiKey = key;
    void this.client.close().catch(() => undefined);
    this.client = this.connect();
  }

  /** Source pipelines, deciding once (on first contact) which ones Elasticsearch runs itself. */
  private async ready(): Promise<SourcePipelines> {
    if (!this.pipelines) {
      const caps = await detectCapabilities(this.client, this.o.url);
      this.pipelines = SourcePipelines.create(this.nyxConfig, caps);
    }
    return this.pipelines;
  }

  async ingest(_agentKey: string, events: AgentEvent[]): Promise<IngestOutcome> {
    this.refreshKey();
    let pipelines: SourcePipelines;
    try {
      pipelines = await this.ready();
    } catch (err) {
      return this.failed(classify(err));
    }
    const agent = { agentId: this.agentId, namespace: this.o.namespace, hostname: this.options.hostname };
    const items: ItemOutcome[] = new Array(events.length);
    const bySource = new Map<Source, Array<SourceEvent & { index: number }>>();
    for (let index = 0; index < events.length; index++) {
      const checked = validateEvent(events[index]);
      const routed = checked.ok ? routeEvent(agent, checked.event) : checked;
      if (!routed.ok) {
        items[index] = { kind: 'rejected', field: routed.field, reason: routed.reason };
        continue;
      }
      let group = bySource.get(routed.source);
      if (!group) bySource.set(routed.source, (group = []));
      group.push({ doc: routed.doc, id: routed.id, owned: routed.owned, index });
    }

    let failure: Failure | undefined;
    let stored = 0;
    for (const [source, group] of bySource) {
      if (failure) {
        for (const e of group) items[e.index] = { kind: 'retry', reason: failure.reason };
        continue;
      }
      let report: WriteReport;
      try {
        report = await sendPreparedEvents(this.client, prepareSourceEvents(pipelines, { source, namespace: this.o.namespace, events: group }));
      } catch (err) {
        failure = classify(err);
        for (const e of group) items[e.index] = { kind: 'retry', reason: failure.reason };
        continue;
      }
      for (let n = 0; n < group.length; n++) {
        const index = group[n]!.index;
        const outcome = report.outcomes[n];
        if (outcome === 'indexed' || outcome === 'duplicate' || outcome === 'dropped') {
          items[index] = { kind: 'done' };
          stored++;
        } else {
          const rejection = report.rejected.find((r) => r.index === n);
          const reason = rejection?.reason ?? 'not indexed';
          if (!rejection || rejection.status === 429 || rejection.status >= 500) items[index] = { kind: 'retry', reason };
          else items[index] = { kind: 'rejected', field: '(document)', reason };
        }
      }
    }
    // Nothing stored and Elasticsearch refused or was away: the whole batch waits (invalid ones included; they are settled next time).
    if (failure && stored === 0) return this.failed(failure);
    return { kind: 'items', items };
  }

  private failed(f: Failure): IngestOutcome {
    if (f.kind === 'unauthorized') {
      this.reloadKey = true;
      return { kind: 'unauthorized', status: f.status, reason: f.reason };
    }
    return { kind: 'retry', status: f.status, reason: f.reason };
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}
