import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

/**
 * A local stand-in for `nyx serve` implementing the two endpoints the shipper uses, as issue 3 specifies
 * them: enroll (token → agent id + key) and ingest (per-event results; stored by agent id + seq, so a
 * resent event is a duplicate; 429/503 with Retry-After on demand).
 */
export interface StubIngest {
  url: string;
  /** Stored events by id (agent id + seq). */
  stored: Map<string, Record<string, unknown>>;
  duplicates: number;
  requests: number;
  /** Answer the next n ingest requests with this status and Retry-After (seconds). */
  pushBack(n: number, status?: 429 | 503, retryAfterSeconds?: number): void;
  /** Until cleared, answer every ingest request with 503 + Retry-After. */
  setDown(down: boolean): void;
  /** Events for which this returns a reason are rejected. */
  rejectWhen(fn: ((e: Record<string, unknown>) => string | undefined) | undefined): void;
  /**
   * A batch holding an event for which this returns a status is refused whole with it and no per-event
   * results, as a server that cannot take one of its events would (400/413/422 for the body, or a 500).
   */
  failBatchWhen(fn: ((e: Record<string, unknown>) => 400 | 413 | 422 | 500 | undefined) | undefined): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startStubIngest(options: { token?: string; agentId?: string } = {}): Promise<StubIngest> {
  const token = options.token ?? 'nyxet_test_token';
  const agentId = options.agentId ?? 'agent-1';
  const key = 'nyxak_test_key';
  let pending: { n: number; status: number; after: number } = { n: 0, status: 503, after: 1 };
  let down = false;
  let reject: ((e: Record<string, unknown>) => string | undefined) | undefined;
  let failBatch: ((e: Record<string, unknown>) => 400 | 413 | 422 | 500 | undefined) | undefined;
  const state = { stored: new Map<string, Record<string, unknown>>(), duplicates: 0, requests: 0 };
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const send = (status: number, json: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    };
    if (req.method === 'POST' && req.url === '/api/agents/enroll') {
      const j = JSON.parse(body.toString()) as { token?: string; ip?: string };
      if (j.token !== token) return send(401, { error: 'enrollment token is not known' });
      if (!j.ip) return send(400, { error: 'ip: required' });
      return send(201, { agent_id: agentId, agent_key: key });
    }
    if (req.method === 'POST' && req.url === '/api/ingest') {
      state.requests++;
      if (req.headers['x-agent-key'] !== key) return send(401, { error: 'agent key is not known' });
      if (down) return send(503, { error: 'Elasticsearch is unavailable; nothing was stored' }, { 'retry-after': '1' });
      if (pending.n > 0) {
        pending.n--;
        return send(pending.status, { error: 'come back later; nothing was stored' }, { 'retry-after': String(pending.after) });
      }
      const raw = req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
      const events = JSON.parse(raw.toString()) as Array<Record<string, unknown>>;
      for (const e of events) {
        const status = failBatch?.(e);
        if (status) return send(status, { error: status === 500 ? 'internal error' : `the body holds an event this server cannot take (HTTP ${status})` });
      }
      const results = events.map((e, index) => {
        const why = reject?.(e);
        if (why) return { index, status: 'rejected', field: 'raw', reason: why };
        const id = `${agentId}-${String(e.seq)}`;
        if (state.stored.has(id)) {
          state.duplicates++;
          return { index, status: 'duplicate' };
        }
        state.stored.set(id, e);
        return { index, status: 'stored' };
      });
      return send(200, { stored: results.filter((r) => r.status === 'stored').length, results });
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get stored() {
      return state.stored;
    },
    get duplicates() {
      return state.duplicates;
    },
    get requests() {
      return state.requests;
    },
    pushBack: (n, status = 503, after = 1) => {
      pending = { n, status, after };
    },
    setDown: (d) => {
      down = d;
    },
    rejectWhen: (fn) => {
      reject = fn;
    },
    failBatchWhen: (fn) => {
      failBatch = fn;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
