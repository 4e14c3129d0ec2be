import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { errors, type Client } from '@elastic/elasticsearch';
import { z } from 'zod';
import { alertIndex, alertSchema } from '../alerts/index.ts';
import { StateStore, STATE_INDEX } from '../coordination/index.ts';
import type { LoadedConfig } from '../config/index.ts';
import type { ElasticContext } from '../elastic/connect.ts';
import { getLogger, type Logger } from '../log/logger.ts';
import type { NyxService, RunningService } from '../services/index.ts';
import { ResponseEngine, type PlaybookRun } from './engine.ts';
import { loadFeedDefinitions } from '../intel/index.ts';
import { ownHostsFrom, type OwnHost } from './own-hosts.ts';
import { loadPlaybooks } from './playbook.ts';
import { registerBuiltinDrivers } from './builtin.ts';

const checkpointSchema = z.object({ at: z.string() });

export interface TickResult {
  alerts: number;
  runs: PlaybookRun[];
  released: number;
  expired: number;
  approvedRan: number;
}

/**
 * The `nyx respond` loop: reads new alerts from nyx-alerts-<namespace> after a checkpoint (re-reading a lookback
 * window so late writes are not missed — deterministic action ids make the overlap harmless), runs matching
 * playbooks, handles approvals and releases actions whose TTL ended. Stateless: the checkpoint is in Elasticsearch.
 */
export class ResponseWorker {
  private readonly state: StateStore;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    readonly engine: ResponseEngine,
    private readonly options: { client: Client; namespace: string; pollIntervalMs: number; lookbackSeconds: number; batchSize: number; stateIndex?: string; log?: Logger },
  ) {
    this.state = new StateStore(options.client, options.stateIndex ?? STATE_INDEX);
    this.log = options.log ?? getLogger('respond');
  }

  private get checkpointKey(): string {
    return `response-checkpoint:${this.options.namespace}`;
  }

  /** One pass: new alerts, approvals, TTL releases. */
  async tick(): Promise<TickResult> {
    const checkpoint = await this.state.get(this.checkpointKey, checkpointSchema);
    const from = checkpoint ? new Date(Date.parse(checkpoint.at) - this.options.lookbackSeconds * 1000).toISOString() : undefined;
    let hits: Array<{ _id?: string; _source?: unknown }> = [];
    try {
      const res = await this.options.client.search({
        index: alertIndex(this.options.namespace),
        query: { bool: { filter: [{ term: { 'nyx.alert.status': 'open' } }, ...(from ? [{ range: { '@timestamp': { gte: from } } }] : [])] } },
        sort: [{ '@timestamp': 'asc' }],
        size: this.options.batchSize,
      });
      hits = res.hits.hits;
    } catch (err) {
      if (!(err instanceof errors.ResponseError && err.statusCode === 404)) throw err;
    }
    const runs: PlaybookRun[] = [];
    let latest = checkpoint?.at;
    for (const hit of hits) {
      const parsed = alertSchema.safeParse(hit._source);
      if (!parsed.success || !hit._id) {
        this.log.warn({ alert: hit._id }, 'skipping a document that is not a valid alert');
        continue;
      }
      const alert = parsed.data;
      if (!latest || alert['@timestamp'] > latest) latest = alert['@timestamp'];
      if (await this.engine.alreadyHandled(hit._id, alert)) continue;
      runs.push(...(await this.engine.handleAlert(hit._id, alert)));
    }
    if (latest && latest !== checkpoint?.at) await this.state.put(this.checkpointKey, 'response-checkpoint', { at: latest });
    const approvals = await this.engine.processApprovals();
    const released = await this.engine.reap();
    return { alerts: hits.length, runs, released: released.length, expired: approvals.expired, approvedRan: approvals.ran };
  }

  start(): void {
    const loop = async (): Promise<void> => {
      if (this.stopped) return;
      this.running = this.tick().catch((err: unknown) => this.log.error({ err }, 'respond tick failed'));
      await this.running;
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.options.pollIntervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/** This replica's identity for leases and the audit trail. */
export function replicaId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** The engine as config describes it: shipped (or configured) playbooks, built-in drivers, protected own hosts. */
export function createResponseEngine(ctx: ElasticContext, loaded: LoadedConfig, options: { holder?: string; playbooksDir?: string; refresh?: boolean | 'wait_for' } = {}): ResponseEngine {
  const { config } = loaded;
  registerBuiltinDrivers(config.response);
  const dir = options.playbooksDir ?? config.response.playbooks_dir;
  return new ResponseEngine({
    client: ctx.client,
    namespace: config.namespace,
    config: config.response,
    playbooks: loadPlaybooks(...(dir ? [dir] : [])),
    holder: options.holder ?? replicaId(),
    // Nyx never blocks the cluster it reports to, the services it talks to, nor its own API.
    ownHosts: ownHostsOf(loaded, ctx.target),
    ...(options.refresh !== undefined ? { refresh: options.refresh } : {}),
  });
}

/**
 * Every host Nyx depends on, by the setting that names it: Elasticsearch (one URL or a list), the services the
 * response drivers call, MISP feeds, the Nyx API. response.guardrails.protected_hosts (Kibana…) is added by Guardrails.
 */
export function ownHostsOf(loaded: LoadedConfig, target?: string): OwnHost[] {
  const { config } = loaded;
  const r = config.response;
  // Every node the client may use (`url` is only the first of a list).
  const esUrls: ReadonlyArray<string | undefined> | string | undefined = config.elasticsearch.urls ?? config.elasticsearch.url;
  let mispUrls: string[] = [];
  try {
    mispUrls = loadFeedDefinitions(config.intel.feeds_dir)
      .filter((f) => f.enabled && (f.kind === 'misp' || f.kind === 'misp_feed') && /^https?:\/\//i.test(f.url))
      .map((f) => f.url);
  } catch (err) {
    // A broken feed file is `nyx feeds`' error to report; here it only means MISP's host is not known.
    getLogger('respond').warn({ err }, 'feed definitions unreadable: MISP hosts are not protected by name');
  }
  return ownHostsFrom([
    { source: 'elasticsearch.url', urls: esUrls },
    { source: 'the Elasticsearch target', urls: target?.split(',').map((u) => u.trim()) },
    { source: 'serve.host', urls: config.serve.host },
    { source: 'response.thehive.url', urls: r.thehive?.url },
    { source: 'response.cortex.url', urls: r.cortex?.url },
    { source: 'response.webhooks', urls: Object.values(r.webhooks).map((w) => w.url) },
    { source: 'response.drivers.opnsense.url', urls: r.drivers.opnsense?.url },
    { source: 'response.drivers.panos.url', urls: r.drivers.panos?.url },
    { source: 'response.drivers.webhook_firewall.url', urls: r.drivers.webhook_firewall?.url },
    { source: 'response.drivers.ec2.endpoint', urls: r.drivers.ec2?.endpoint },
    { source: 'MISP feed url', urls: mispUrls },
  ]);
}

export function createResponseWorker(ctx: ElasticContext, loaded: LoadedConfig, engine: ResponseEngine): ResponseWorker {
  const r = loaded.config.response;
  return new ResponseWorker(engine, { client: ctx.client, namespace: loaded.config.namespace, pollIntervalMs: r.poll_interval_ms, lookbackSeconds: r.lookback_seconds, batchSize: r.batch_size });
}

/** `nyx up` runs this; `nyx respond` runs it alone. */
export const responseService: NyxService = {
  name: 'respond',
  async start(ctx, loaded): Promise<RunningService> {
    const engine = createResponseEngine(ctx, loaded);
    // Resolved now so a name that does not resolve is reported at start-up, not at the first block.
    await engine.guardrails.refreshOwnHosts(Date.now(), true);
    const hosts = engine.guardrails.describeOwnHosts();
    if (hosts.unresolved.length) getLogger('respond').warn({ unresolved: hosts.unresolved }, `guardrails: ${hosts.unresolved.join('; ')}: IP blocks are refused until these names resolve`);
    const worker = createResponseWorker(ctx, loaded, engine);
    worker.start();
    return {
      describe: `response worker on nyx-alerts-${loaded.config.namespace} (${engine.playbooks.length} playbooks, unattended up to ${loaded.config.response.unattended_level})`,
      stop: () => worker.stop(),
    };
  },
};
