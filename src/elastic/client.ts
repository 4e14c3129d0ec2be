import { readFileSync } from 'node:fs';
import { Client, errors } from '@elastic/elasticsearch';
import SniffingTransport from '@elastic/elasticsearch/lib/sniffingTransport';
import { NyxError } from '../errors.ts';
import type { NyxConfig, Secrets } from '../config/index.ts';

type ClientOptions = ConstructorParameters<typeof Client>[0];

export type { Client };

/** The answer of a request that reached a shard still starting (an index created a moment ago). */
function isShardStarting(err: unknown): boolean {
  return err instanceof errors.ResponseError && err.statusCode === 503 && JSON.stringify(err.body ?? '').includes('no_shard_available_action_exception');
}

/**
 * The client's own transport, plus one patience: a request that meets a primary shard still starting gets
 * 503 no_shard_available_action_exception for a few hundred milliseconds after its index was created. The
 * stock retry repeats at once (and fails again), so these are retried with a growing pause, at most ~6 s.
 * Nothing else changes: other 5xx keep the stock behaviour, and the caller sees the last error.
 */
class ShardStartPatientTransport extends SniffingTransport {
  // One body for the base's three overloads (with and without meta): each returns what the base returned.
  override async request(...args: Parameters<SniffingTransport['request']>): Promise<never> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await super.request(...args)) as never;
      } catch (err) {
        if (!isShardStarting(err) || attempt >= 12) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 + attempt * 75));
      }
    }
  }
}

/** The node URLs a client uses: an override (one URL or several), else every configured `elasticsearch.url`. */
function nodeUrls(config: NyxConfig, urlOverride?: string | string[]): string[] {
  if (urlOverride !== undefined) return typeof urlOverride === 'string' ? [urlOverride] : urlOverride;
  return config.elasticsearch.urls ?? (config.elasticsearch.url ? [config.elasticsearch.url] : []);
}

/**
 * The one Elasticsearch client factory. Everything that talks to the cluster gets its client here,
 * so auth, TLS and timeouts are decided in one place. With several node URLs the client spreads requests
 * over them and moves off a node that fails; with sniffing (default on for several URLs) it also learns
 * the cluster's other nodes at start and after a fault.
 */
export function createElasticClient(config: NyxConfig, secrets: Secrets, urlOverride?: string | string[]): Client {
  const es = config.elasticsearch;
  const urls = nodeUrls(config, urlOverride);
  if (urls.length === 0 && !es.cloud_id) throw new NyxError('no Elasticsearch configured', 'set ELASTICSEARCH_URL, elasticsearch.url or elasticsearch.cloud_id');
  const options: ClientOptions = {
    requestTimeout: es.request_timeout_ms,
    maxRetries: 2,
    compression: false,
    Transport: ShardStartPatientTransport,
  };
  if (es.cloud_id && urlOverride === undefined) options.cloud = { id: es.cloud_id };
  else {
    options.nodes = urls;
    // A single URL may be a proxy or load balancer: the nodes behind it need not be reachable from here.
    if (es.sniff ?? urls.length > 1) {
      options.sniffOnStart = true;
      options.sniffOnConnectionFault = true;
      // A sniff after a fault keeps only the nodes alive then: asking again now and then brings a returned node back.
      options.sniffInterval = 60_000;
    }
  }
  if (secrets.elasticsearchApiKey) options.auth = { apiKey: secrets.elasticsearchApiKey };
  else if (es.username) options.auth = { username: es.username, password: secrets.elasticsearchPassword ?? '' };
  if (es.ca_file || es.ca_fingerprint) {
    options.tls = {};
    if (es.ca_file) {
      try {
        options.tls.ca = readFileSync(es.ca_file);
      } catch {
        throw new NyxError(`elasticsearch.ca_file: cannot read ${es.ca_file}`);
      }
    }
    if (es.ca_fingerprint) options.caFingerprint = es.ca_fingerprint;
  }
  return new Client(options);
}

/** A URL without credentials, for messages. */
function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/$/, '');
}

/** Where a client points, without credentials: for messages. Several nodes are listed comma-separated. */
export function describeTarget(config: NyxConfig, urlOverride?: string | string[]): string {
  const urls = nodeUrls(config, urlOverride);
  if (urls.length) return urls.map(withoutCredentials).join(',');
  return `Elastic Cloud (${config.elasticsearch.cloud_id?.split(':')[0] ?? 'cloud id'})`;
}

/**
 * Turns a client error into one readable line: unreachable, bad credentials, or the cluster's own reason.
 */
export function explainElasticError(err: unknown, target: string, what?: string): NyxError {
  const prefix = what ? `${what}: ` : '';
  if (err instanceof errors.ConnectionError || err instanceof errors.TimeoutError) {
    return new NyxError(`${prefix}cannot reach Elasticsearch at ${target}: ${err.message}`);
  }
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode;
    if (status === 401) return new NyxError(`${prefix}Elasticsearch at ${target} rejected the credentials (401)`, 'check ELASTICSEARCH_API_KEY or username/password');
    if (status === 403) return new NyxError(`${prefix}the credentials lack a privilege on ${target} (403): ${reasonOf(err)}`);
    return new NyxError(`${prefix}Elasticsearch answered ${status}: ${reasonOf(err)}`);
  }
  if (err instanceof errors.ProductNotSupportedError) return new NyxError(`${prefix}${target} is not Elasticsearch: ${err.message}`);
  if (err instanceof NyxError) return err;
  return new NyxError(`${prefix}${(err as Error).message ?? String(err)}`);
}

export function reasonOf(err: InstanceType<typeof errors.ResponseError>): string {
  type Cause = { reason?: string; type?: string; caused_by?: Cause; root_cause?: Cause[] };
  const body = err.body as { error?: Cause | string } | undefined;
  if (body && typeof body.error === 'object') {
    // The top reason is often generic ("template after composition is invalid"); the deepest cause says why.
    let deepest: Cause = body.error;
    while (deepest.caused_by) deepest = deepest.caused_by;
    const top = body.error.root_cause?.[0]?.reason ?? body.error.reason ?? body.error.type ?? err.message;
    return deepest !== body.error && deepest.reason && deepest.reason !== top ? `${top}: ${deepest.reason}` : top;
  }
  if (body && typeof body.error === 'string') return body.error;
  return err.message;
}

/** Waits (bounded) until the cluster answers, so the first real call gets a clear error if it never does. */
export async function waitForCluster(client: Client, target: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await client.cluster.health({ wait_for_status: 'yellow', timeout: '5s' }, { requestTimeout: 6000, maxRetries: 0 });
      return;
    } catch (err) {
      last = err;
      if (err instanceof errors.ResponseError && err.statusCode !== 503 && err.statusCode !== 408) throw explainElasticError(err, target);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const e = explainElasticError(last, target);
  throw new NyxError(`${e.message} (waited ${Math.round(waitMs / 1000)}s)`);
}
