import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { getLogger } from '../../log/logger.ts';

/** Builds a preconfigured agent bundle (the shipper's `nyx agent bundle`); plugged in by the shipper side. */
export interface AgentBundleBuilder {
  build(input: { platform: 'linux' | 'windows'; namespace: string }): Promise<{ filename: string; contentType: string; data: Buffer; sha256: string }>;
}

export interface BundleRouteOptions {
  /** The operator credential (env NYX_OPERATOR_TOKEN); without it the route is closed. */
  operatorToken?: string;
  builder?: AgentBundleBuilder;
}

const paramsSchema = z.object({ platform: z.enum(['linux', 'windows']) });
const querySchema = z.object({ namespace: z.string().regex(/^[a-z0-9_]{1,100}$/) });

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * `GET /agents/downloads/bundle/<platform>?namespace=<tenant>` for an authenticated operator.
 * TODO(shipper): the shipper side provides `builder` (the same code as `nyx agent bundle`), and the download
 * record (who, what, from where, when) belongs in an audit store once one exists; it is logged for now.
 */
export function registerBundleRoutes(app: FastifyInstance, options: BundleRouteOptions): void {
  const log = getLogger('agent-downloads');
  app.get('/agents/downloads/bundle/:platform', async (request, reply) => {
    const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!options.operatorToken) return reply.code(503).send({ error: 'agent downloads are closed: set NYX_OPERATOR_TOKEN for the server' });
    if (!presented || !sameSecret(presented, options.operatorToken)) return reply.code(401).send({ error: 'operator authentication required: Authorization: Bearer <operator token>' });
    const params = paramsSchema.safeParse(request.params);
    const query = querySchema.safeParse(request.query);
    if (!params.success) return reply.code(404).send({ error: 'platform: expected linux or windows' });
    if (!query.success) return reply.code(400).send({ error: 'namespace: expected ?namespace=<tenant> (lowercase letters, digits, _)' });
    if (!options.builder) return reply.code(501).send({ error: 'agent bundles are not available in this build yet' });
    const bundle = await options.builder.build({ platform: params.data.platform, namespace: query.data.namespace });
    log.info({ client: { ip: request.ip }, platform: params.data.platform, namespace: query.data.namespace, file: { name: bundle.filename, hash: { sha256: bundle.sha256 } } }, 'agent bundle downloaded');
    return reply.header('content-disposition', `attachment; filename="${bundle.filename}"`).header('x-checksum-sha256', bundle.sha256).type(bundle.contentType).send(bundle.data);
  });
}
