import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Client } from '@elastic/elasticsearch';
import type { NyxConfig } from '../../config/index.ts';
import { AgentAuthError, EnrollmentContendedError, enrollRequestSchema, type AgentIdentity, type AgentRegistry } from '../../agents/registry.ts';
import { getLogger } from '../../log/logger.ts';
import { BackpressureError, type EventIngestor } from '../event-ingestor.ts';
import type { IngestMetrics } from '../metrics.ts';
import { RateLimiter, type RateDecision } from '../rate-limit.ts';
import { OperatorCredential } from './operator-auth.ts';
import { BodyError, decodeBody, parseEvents } from './body.ts';
import { registerBundleRoutes, type BundleRouteOptions } from './bundle.ts';

export type ServeSettings = NyxConfig['serve'];

export interface IngestApiDeps {
  settings: ServeSettings;
  client: Client;
  registry: AgentRegistry;
  ingestor: EventIngestor;
  metrics: IngestMetrics;
  bundles?: BundleRouteOptions;
  /** NYX_OPERATOR_TOKEN: what /metrics asks for (Authorization: Bearer); without it /metrics is closed. */
  operatorToken?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the agent-auth hook on routes that need an enrolled agent. */
    agent?: AgentIdentity;
  }
}

/** The presented agent key: `X-Agent-Key: <key>` or `Authorization: ApiKey <key>`. */
function presentedAgentKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-agent-key'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = request.headers.authorization;
  const m = auth ? /^ApiKey\s+(\S+)$/i.exec(auth) : null;
  return m?.[1];
}

/** "Come back later": 503 (or 429) with Retry-After, and a body that says why. */
function pushBack(reply: FastifyReply, status: 429 | 503, retryAfterSeconds: number, error: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).header('retry-after', String(retryAfterSeconds)).send({ error, retry_after_seconds: retryAfterSeconds, ...extra });
}

/**
 * The ingest API as a fastify app (not listening): enrollment, ingest, health and metrics, each route group
 * an encapsulated plugin so the ingest routes' raw-body parser and agent auth apply to them alone.
 */
export async function buildIngestApi(deps: IngestApiDeps): Promise<FastifyInstance> {
  const { settings, metrics } = deps;
  const log = getLogger('ingest-api');
  // pino's Logger is fastify's logger; the cast only widens its generic type to the one FastifyInstance names.
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: settings.body_limit_bytes,
    return503OnClosing: true,
    // request.ip is the client address the failed-attempt limit counts; only named proxies may say who that is.
    trustProxy: settings.trust_proxy.length > 0 ? settings.trust_proxy : false,
  });

  // Failed agent-key, enrollment and operator-token attempts per client address. Only failures take from
  // it, so a busy good agent behind the same address never uses it up; while it is empty, the address gets
  // 429 + Retry-After for anything not already verified, without a look-up in Elasticsearch.
  const auth = settings.auth_rate_limit;
  const authFailures = new RateLimiter(auth.failures / auth.per_seconds, auth.failures, Date.now, auth.max_tracked);
  const throttled = (reply: FastifyReply, decision: Extract<RateDecision, { allowed: false }>): FastifyReply => {
    metrics.rejections.inc({ reason: 'rate_limited' });
    return pushBack(reply, 429, decision.retryAfterSeconds, `too many failed authentication attempts from this address (at most ${auth.failures} per ${auth.per_seconds}s); try again later`);
  };
  const operator = deps.operatorToken ? new OperatorCredential(deps.operatorToken) : undefined;

  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = err.statusCode ?? 500;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') metrics.rejections.inc({ reason: 'body_too_large' });
    if (status >= 500) log.error({ err, url: { path: request.url } }, 'ingest API request failed');
    // Client errors carry fastify's own precise message; server errors say no more than that they happened.
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  app.get('/api/health', async (_request, reply) => {
    let elasticsearch: { reachable: boolean; status?: string; error?: string };
    try {
      // Retries go to another node when one is down (a refused connection costs nothing); red means a primary
      // is unavailable, so some writes cannot be taken: the same 503 the ingest route answers for them.
      const health = await deps.client.cluster.health({ timeout: '2s', master_timeout: '2s' }, { requestTimeout: 3000, maxRetries: 2 });
      elasticsearch = { reachable: true, status: health.status };
    } catch (err) {
      elasticsearch = { reachable: false, error: (err as Error).message };
    }
    const ok = elasticsearch.reachable && elasticsearch.status !== 'red';
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', elasticsearch, queue: { events: metrics.queueDepth, limit: settings.max_queued_events } });
  });

  // Metrics name every tenant: they are for the operator (Prometheus: authorization.credentials_file).
  app.get('/metrics', async (request, reply) => {
    if (!operator) return reply.code(503).send({ error: '/metrics is closed: set NYX_OPERATOR_TOKEN for the server, then scrape with Authorization: Bearer <token>' });
    // Checking the operator token costs no look-up, so it is checked even for a throttled address: only
    // failures are held against an address.
    if (!operator.accepts(request.headers.authorization)) {
      const blocked = authFailures.peek(request.ip);
      if (!blocked.allowed) return throttled(reply, blocked);
      authFailures.take(request.ip);
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'operator authentication required: Authorization: Bearer <operator token>' });
    }
    return reply.type('text/plain; version=0.0.4').send(metrics.render());
  });

  await app.register(async (enroll) => {
    // Before the body is read: an address that keeps failing costs neither parsing nor a token look-up.
    enroll.addHook('onRequest', async (request, reply) => {
      const blocked = authFailures.peek(request.ip);
      return blocked.allowed ? undefined : throttled(reply, blocked);
    });
    enroll.post('/api/agents/enroll', async (request, reply) => {
      const parsed = enrollRequestSchema.safeParse(request.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return reply.code(400).send({ error: `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}` });
      }
      try {
        const enrolled = await deps.registry.enroll(parsed.data);
        log.info({ agent: { id: enrolled.agent_id, name: parsed.data.hostname }, namespace: enrolled.namespace }, 'agent enrolled');
        return reply.code(201).send(enrolled);
      } catch (err) {
        if (err instanceof AgentAuthError) {
          authFailures.take(request.ip);
          return reply.code(err.reason === 'malformed' || err.reason === 'unknown' ? 401 : 403).send({ error: err.message });
        }
        if (err instanceof EnrollmentContendedError) return pushBack(reply, 503, 1, `${err.message}; enroll again`);
        log.warn({ err }, 'enrollment could not reach Elasticsearch');
        return pushBack(reply, 503, settings.retry_after_seconds, 'Elasticsearch is unavailable; enroll again later');
      }
    });
  });

  await app.register(async (ingest) => {
    const limiter = new RateLimiter(settings.rate_limit.requests_per_second, settings.rate_limit.burst);
    // Over all of a tenant's agents: enrolling more agents does not multiply what one tenant may send.
    const tenantRate = settings.rate_limit.tenant_requests_per_second ?? 10 * settings.rate_limit.requests_per_second;
    const tenantLimiter = new RateLimiter(tenantRate, settings.rate_limit.tenant_burst ?? 10 * settings.rate_limit.burst);
    // Bodies are taken raw so gzip can be undone under our own size cap and NDJSON split line by line.
    ingest.removeAllContentTypeParsers();
    ingest.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    // Auth and rate limit run before the body is read: a stranger or a flood costs no parsing.
    ingest.addHook('onRequest', async (request, reply) => {
      const key = presentedAgentKey(request);
      if (!key) {
        metrics.rejections.inc({ reason: 'unauthorized' });
        return reply.code(401).send({ error: 'missing agent key: send X-Agent-Key or Authorization: ApiKey <key>' });
      }
      const blocked = authFailures.peek(request.ip);
      if (!blocked.allowed && !deps.registry.recognisesKey(key)) return throttled(reply, blocked);
      try {
        request.agent = await deps.registry.authenticate(key);
      } catch (err) {
        if (err instanceof AgentAuthError) {
          authFailures.take(request.ip);
          metrics.rejections.inc({ reason: 'unauthorized' });
          return reply.code(err.reason === 'revoked' ? 403 : 401).send({ error: err.message });
        }
        metrics.rejections.inc({ reason: 'backpressure' });
        log.warn({ err }, 'agent key check could not reach Elasticsearch');
        return pushBack(reply, 503, settings.retry_after_seconds, 'Elasticsearch is unavailable; nothing was stored');
      }
      const allowed = limiter.take(request.agent.agentId);
      if (!allowed.allowed) {
        metrics.rejections.inc({ reason: 'rate_limited' });
        return pushBack(reply, 429, allowed.retryAfterSeconds, `rate limit of ${settings.rate_limit.requests_per_second} requests/s per agent exceeded; nothing was stored`);
      }
      const tenantAllowed = tenantLimiter.take(request.agent.namespace);
      if (!tenantAllowed.allowed) {
        metrics.rejections.inc({ reason: 'rate_limited' });
        return pushBack(reply, 429, tenantAllowed.retryAfterSeconds, `rate limit of ${tenantRate} requests/s for tenant ${request.agent.namespace} (all its agents) exceeded; nothing was stored`);
      }
      return undefined;
    });

    ingest.post('/api/ingest', async (request, reply) => {
      const agent = request.agent as AgentIdentity;
      let items;
      try {
        if (!Buffer.isBuffer(request.body)) throw new BodyError(400, 'the body is empty: send one JSON event, a JSON array or NDJSON');
        const decoded = await decodeBody(request.body, request.headers['content-encoding'], settings.body_limit_bytes);
        items = parseEvents(decoded);
      } catch (err) {
        if (!(err instanceof BodyError)) throw err;
        metrics.rejections.inc({ reason: err.statusCode === 413 ? 'body_too_large' : 'invalid_body' });
        return reply.code(err.statusCode).send({ error: err.message });
      }
      if (items.length > settings.max_events_per_request) {
        metrics.rejections.inc({ reason: 'too_many_events' });
        return reply.code(413).send({ error: `${items.length} events exceed the limit of ${settings.max_events_per_request} per request; split the batch` });
      }
      if (metrics.queueDepth + items.length > settings.max_queued_events) {
        metrics.rejections.inc({ reason: 'backpressure' });
        return pushBack(reply, 503, settings.retry_after_seconds, 'the ingest queue is full; nothing was stored');
      }
      metrics.queueDepth += items.length;
      try {
        const outcome = await deps.ingestor.ingest(agent, items);
        // One pass over the results, not one per status.
        const counts = { stored: 0, duplicate: 0, dropped: 0, rejected: 0, retry: 0 };
        for (const r of outcome.results) counts[r.status]++;
        const summary = { namespace: agent.namespace, stored: counts.stored, duplicates: counts.duplicate, dropped: counts.dropped, rejected: counts.rejected, retry: counts.retry, results: outcome.results };
        if (outcome.retry) {
          metrics.rejections.inc({ reason: 'backpressure' });
          return pushBack(reply, 503, settings.retry_after_seconds, 'Elasticsearch pushed back; send the events marked retry again', summary);
        }
        return reply.code(summary.rejected === items.length ? 422 : 200).send(summary);
      } catch (err) {
        if (!(err instanceof BackpressureError)) throw err;
        metrics.rejections.inc({ reason: 'backpressure' });
        log.warn({ err }, 'Elasticsearch pushed back');
        return pushBack(reply, 503, settings.retry_after_seconds, `${err.message}; nothing in this request is acknowledged, send it again`);
      } finally {
        metrics.queueDepth -= items.length;
      }
    });
  });

  await app.register(async (downloads) => registerBundleRoutes(downloads, deps.bundles ?? {}));
  return app;
}
