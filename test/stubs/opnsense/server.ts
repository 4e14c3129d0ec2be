import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OPNsense API stub for the alias endpoints Nyx uses, following the documented
 * behaviour of firewall/alias_util and firewall/alias:
 *   GET  /api/firewall/alias_util/list/<alias>    → {total,rowCount,current,rows:[{ip}]}
 *   POST /api/firewall/alias_util/add/<alias>     {"address"} → {"status":"done"} | "not_an_address" | "failed"
 *   POST /api/firewall/alias_util/delete/<alias>  {"address"} → {"status":"done"} (also when absent)
 *   POST /api/firewall/alias/reconfigure          → {"status":"ok"}
 * Basic auth with key:secret, 401 otherwise. Every request is recorded for exact assertions.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

export interface OpnsenseStub {
  url: string;
  requests: RecordedRequest[];
  /** Alias name → addresses currently in the pf table. */
  aliases: Map<string, Set<string>>;
  reconfigures: number;
  /** The next request to a path containing `pathIncludes` gets this answer instead. */
  failNext(pathIncludes: string, status: number, body: string): void;
  close(): Promise<void>;
}

export async function startOpnsenseStub(key: string, secret: string, aliasNames: string[] = ['nyx_blocklist']): Promise<OpnsenseStub> {
  const requests: RecordedRequest[] = [];
  const aliases = new Map(aliasNames.map((n) => [n, new Set<string>()]));
  const faults: Array<{ pathIncludes: string; status: number; body: string }> = [];
  const expectedAuth = `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
  let reconfigures = 0;

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => resolve(body));
    });

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    };
    const fault = faults.findIndex((f) => path.includes(f.pathIncludes));
    if (fault >= 0) {
      const [f] = faults.splice(fault, 1);
      res.writeHead(f!.status, { 'content-type': 'application/json' });
      res.end(f!.body);
      return;
    }
    if (req.headers.authorization !== expectedAuth) return send(401, { status: 401, message: 'Authentication Failed' });

    let post: Record<string, unknown> = {};
    if (req.method === 'POST' && body) {
      try {
        post = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return send(400, { status: 400, message: 'invalid JSON' });
      }
    }
    const match = /^\/api\/firewall\/alias_util\/(list|add|delete)\/([^/]+)$/.exec(path);
    if (match) {
      const [, action, rawAlias] = match;
      const alias = decodeURIComponent(rawAlias!);
      const table = aliases.get(alias);
      if (action === 'list') {
        if (req.method !== 'GET') return send(200, { status: 'failed' });
        const rows = [...(table ?? [])].map((ip) => ({ ip }));
        return send(200, { total: rows.length, rowCount: rows.length, current: 1, rows });
      }
      if (req.method !== 'POST' || typeof post.address !== 'string') return send(200, { status: 'failed' });
      const address = post.address;
      if (/[^0-9a-f:./_]/.test(address)) return send(200, { status: 'not_an_address' });
      if (!table) return send(200, { status: 'failed' });
      if (action === 'add') table.add(address);
      else table.delete(address);
      return send(200, { status: 'done' });
    }
    if (path === '/api/firewall/alias/reconfigure') {
      if (req.method !== 'POST') return send(200, { status: 'failed' });
      reconfigures += 1;
      return send(200, { status: 'ok' });
    }
    return send(404, { errorMessage: 'Endpoint not found' });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    aliases,
    get reconfigures() {
      return reconfigures;
    },
    failNext(pathIncludes, status, body) {
      faults.push({ pathIncludes, status, body });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
