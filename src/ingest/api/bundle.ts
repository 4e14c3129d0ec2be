import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { getLogger } from '../../log/logger.ts';
import { OperatorCredential } from './operator-auth.ts';

export type BundlePlatform = 'linux' | 'windows';

/** One download as the audit store keeps it (never the embedded token). */
export interface DownloadAudit {
  operator: { name?: string; credential: string };
  client: { ip: string; user_agent?: string };
  platform: BundlePlatform;
  namespace: string;
  server: string;
  token_id: string;
  token_expires_at: string;
  file: { name: string; size: number; sha256: string };
}

/** Builds a preconfigured agent bundle with a fresh enrollment token (the same code as `nyx agent bundle`). */
export interface AgentBundleBuilder {
  build(input: { platform: BundlePlatform; namespace: string; server: string; operator: string }): Promise<{
    filename: string;
    contentType: string;
    data: Buffer;
    sha256: string;
    tokenId: string;
    tokenExpiresAt: string;
  }>;
  /** Withdraws a token whose bundle was never handed out (the audit record could not be written). */
  revokeToken(tokenId: string): Promise<unknown>;
}

export interface BundleRouteOptions {
  /** The operator credential (env NYX_OPERATOR_TOKEN); without it the route is closed. */
  operatorToken?: string;
  builder?: AgentBundleBuilder;
  /** Where each download is recorded; a download that cannot be recorded is refused. */
  audit?: { record(entry: DownloadAudit): Promise<{ download_id: string }> };
}

const paramsSchema = z.object({ platform: z.enum(['linux', 'windows']) });
const querySchema = z
  .object({
    namespace: z.string().regex(/^[a-z0-9_]{1,100}$/, 'expected ?namespace=<tenant> (lowercase letters, digits, _; at most 100)'),
    /** The URL the agents ship to; by default the URL this request reached. */
    server: z
      .string()
      .max(2048)
      .refine((v) => {
        try {
          const u = new URL(v);
          return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
        } catch {
          return false;
        }
      }, 'expected an http(s) URL without credentials')
      .optional(),
  })
  .strict();
/** An operator may name themself for the audit trail; bounded and plain so it is safe to store and show. */
const operatorNameSchema = z.string().regex(/^[A-Za-z0-9._@+-]{1,128}$/);

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || '(query)'}: ${issue?.message ?? 'invalid'}`;
}

/** The URL the operator reached this server on: agents downloaded from here ship here too. */
function requestOrigin(request: FastifyRequest): string | undefined {
  const origin = `${request.protocol}://${request.host}`;
  try {
    return new URL(origin).origin;
  } catch {
    return undefined;
  }
}

/**
 * `GET /agents/downloads/bundle/<platform>?namespace=<tenant>[&server=<url>]` for an authenticated operator
 * (`Authorization: Bearer <NYX_OPERATOR_TOKEN>`, optional `X-Nyx-Operator: <name>`): builds the same bundle as
 * `nyx agent bundle` with a fresh 24 h enrollment token, records the download, then serves it.
 */
export function registerBundleRoutes(app: FastifyInstance, options: BundleRouteOptions): void {
  const log = getLogger('agent-downloads');
  const operator = options.operatorToken ? new OperatorCredential(options.operatorToken) : undefined;
  const credential = operator?.fingerprint ?? '';
  app.get('/agents/downloads/bundle/:platform', async (request, reply) => {
    if (!operator) return reply.code(503).send({ error: 'agent downloads are closed: set NYX_OPERATOR_TOKEN for the server' });
    if (!operator.accepts(request.headers.authorization)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'operator authentication required: Authorization: Bearer <operator token>' });
    }
    const params = paramsSchema.safeParse(request.params);
    if (!params.success) return reply.code(400).send({ error: 'platform: expected linux or windows' });
    const query = querySchema.safeParse(request.query);
    if (!query.success) return reply.code(400).send({ error: firstIssue(query.error) });
    const nameHeader = request.headers['x-nyx-operator'];
    let operatorName: string | undefined;
    if (nameHeader !== undefined) {
      const parsed = operatorNameSchema.safeParse(nameHeader);
      if (!parsed.success) return reply.code(400).send({ error: 'X-Nyx-Operator: expected a name of letters, digits and ._@+- (at most 128)' });
      operatorName = parsed.data;
    }
    const server = query.data.server ?? requestOrigin(request);
    if (!server) return reply.code(400).send({ error: 'server: cannot tell this server\'s URL from the request; pass ?server=<url>' });
    if (!options.builder || !options.audit) return reply.code(501).send({ error: 'agent bundles are not available in this server' });

    const { platform } = params.data;
    const { namespace } = query.data;
    let bundle;
    try {
      bundle = await options.builder.build({ platform, namespace, server, operator: operatorName ?? credential });
    } catch (err) {
      log.warn({ err }, 'agent bundle could not be built');
      return reply.code(503).header('retry-after', '5').send({ error: 'the bundle could not be built (is Elasticsearch reachable?); try again later' });
    }
    const userAgent = request.headers['user-agent'];
    let recorded: { download_id: string };
    try {
      recorded = await options.audit.record({
        operator: { ...(operatorName ? { name: operatorName } : {}), credential },
        client: { ip: request.ip, ...(userAgent ? { user_agent: userAgent.slice(0, 1024) } : {}) },
        platform,
        namespace,
        server,
        token_id: bundle.tokenId,
        token_expires_at: bundle.tokenExpiresAt,
        file: { name: bundle.filename, size: bundle.data.length, sha256: bundle.sha256 },
      });
    } catch (err) {
      // Nothing leaves without a record: the token made for it is withdrawn again.
      await options.builder.revokeToken(bundle.tokenId).catch(() => undefined);
      log.warn({ err }, 'agent download could not be recorded; refused');
      return reply.code(503).header('retry-after', '5').send({ error: 'the download could not be recorded; try again later' });
    }
    log.info(
      { client: { ip: request.ip }, user: { name: operatorName }, platform, namespace, file: { name: bundle.filename, hash: { sha256: bundle.sha256 } }, download: { id: recorded.download_id } },
      'agent bundle downloaded',
    );
    return reply
      .header('content-disposition', `attachment; filename="${bundle.filename}"`)
      .header('x-checksum-sha256', bundle.sha256)
      .header('x-nyx-download-id', recorded.download_id)
      .header('cache-control', 'no-store')
      .type(bundle.contentType)
      .send(bundle.data);
  });
}
