import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How a stub misbehaves for the next requests (each test sets what it needs). */
export type StubFault = 'none' | '401' | '402' | '403' | '429' | '500' | 'html' | 'malformed' | 'hang';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface StubServer {
  url: string;
  requests: RecordedRequest[];
  fault: StubFault;
  /** Seconds a 429 asks to wait. */
  retryAfter: number;
  close(): Promise<void>;
}

export type StubHandler = (req: RecordedRequest, res: ServerResponse, stub: StubServer) => unknown;

const HTML = '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>cloudflare</p></body></html>';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * A tiny local HTTP server for one external API. Faults common to every API (HTML error pages, 429 with
 * Retry-After, hanging connections, 5xx) are handled here; `authError` answers bad keys the way the API does.
 */
export async function startStub(handler: StubHandler, options: { authError?: (res: ServerResponse, code: 401 | 402 | 403) => void } = {}): Promise<StubServer> {
  const sockets = new Set<Socket>();
  const stub: StubServer = {
    url: '',
    requests: [],
    fault: 'none',
    retryAfter: 1,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://stub');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      if (text && /json/.test(req.headers['content-type'] ?? '')) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, body };
      stub.requests.push(recorded);
      switch (stub.fault) {
        case 'hang':
          return; // never answers: the client's timeout must fire
        case 'html':
          res.writeHead(200, { 'Content-Type': 'text/html' });
          return res.end(HTML);
        case '500':
          res.writeHead(502, { 'Content-Type': 'text/html' });
          return res.end(HTML);
        case '429':
          return sendJson(res, 429, { message: 'Too Many Requests' }, { 'Retry-After': String(stub.retryAfter) });
        case '401':
        case '402':
        case '403':
          if (options.authError) return options.authError(res, Number(stub.fault) as 401 | 402 | 403);
          return sendJson(res, Number(stub.fault), { error: 'denied' });
        default:
          Promise.resolve(handler(recorded, res, stub)).catch((err: Error) => sendJson(res, 500, { error: err.message }));
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}
