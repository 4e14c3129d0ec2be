import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A TheHive 5 stand-in following its documented v1 API, for the calls Nyx makes:
 * POST /api/v1/alert (type/source/sourceRef unique: a duplicate is HTTP 400 CreateError "already exists"),
 * POST /api/v1/query (listAlert + filter _and/_eq + page), PATCH /api/v1/alert/{id}, POST /api/v1/alert/{id}/case,
 * POST /api/v1/case/{id}/task, POST /api/v1/task/{id}/log, POST /api/v1/alert/{id}/comment, GET /api/v1/case/{id}.
 * Bodies are validated with the documented shapes (a wrong request is a 400 the test sees), auth is Bearer,
 * and every request is recorded so tests assert exactly what was sent.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  organisation?: string;
  body: unknown;
}

const observableSchema = z.object({ dataType: z.string().min(1), data: z.string().min(1), tags: z.array(z.string()).optional(), message: z.string().optional() }).strict();
const inputAlertSchema = z
  .object({
    type: z.string().min(1),
    source: z.string().min(1),
    sourceRef: z.string().min(1),
    title: z.string().min(1),
    description: z.string().min(1),
    severity: z.number().int().min(1).max(4).optional(),
    date: z.number().optional(),
    tags: z.array(z.string()).optional(),
    tlp: z.number().int().min(0).max(4).optional(),
    pap: z.number().int().min(0).max(3).optional(),
    observables: z.array(observableSchema).optional(),
  })
  .strict();
const updateAlertSchema = z.object({ title: z.string().optional(), description: z.string().optional(), severity: z.number().int().min(1).max(4).optional(), tags: z.array(z.string()).optional() }).strict();
const taskSchema = z.object({ title: z.string().min(1), description: z.string().optional(), group: z.string().optional() }).strict();
const messageSchema = z.object({ message: z.string().min(1) }).strict();
const querySchema = z.object({
  query: z.array(
    z.union([
      z.object({ _name: z.literal('listAlert') }),
      z.object({ _name: z.literal('filter'), _and: z.array(z.object({ _eq: z.object({ _field: z.string(), _value: z.string() }) })) }),
      z.object({ _name: z.literal('page'), from: z.number(), to: z.number() }),
    ]),
  ),
});

export interface StubAlert {
  _id: string;
  _type: 'Alert';
  type: string;
  source: string;
  sourceRef: string;
  title: string;
  description: string;
  severity: number;
  tags: string[];
  observables: Array<z.infer<typeof observableSchema>>;
  caseId?: string;
  comments: string[];
}
export interface StubCase {
  _id: string;
  _type: 'Case';
  number: number;
  title: string;
  status: string;
  stage: string;
  startDate: number;
  endDate?: number;
  tasks: Array<{ _id: string; title: string; description?: string; logs: string[] }>;
}

export class TheHiveStub {
  readonly requests: RecordedRequest[] = [];
  readonly alerts = new Map<string, StubAlert>();
  readonly cases = new Map<string, StubCase>();
  /** When set, every request gets this HTTP status (503: TheHive down behind a proxy). */
  failWith: number | undefined;
  private server: Server | undefined;
  private seq = 0;

  constructor(readonly apiKey = 'hive-test-key') {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** An analyst closes the case (TheHive 5: stage Closed, a resolution status, an end date). */
  closeCase(caseId: string, status = 'TruePositive', at = Date.now()): void {
    const c = this.cases.get(caseId);
    if (c) Object.assign(c, { status, stage: 'Closed', endDate: at });
  }

  private id(prefix: string): string {
    this.seq += 1;
    return `~${prefix}${this.seq}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return send(res, 400, { type: 'BadRequest', message: 'Invalid JSON' });
    }
    const url = new URL(req.url ?? '/', 'http://stub');
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(typeof req.headers['x-organisation'] === 'string' ? { organisation: req.headers['x-organisation'] } : {}),
      body,
    });
    if (this.failWith) return send(res, this.failWith, { type: 'ServiceUnavailable', message: 'TheHive is unavailable' });
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return send(res, 401, { type: 'AuthenticationError', message: 'Authentication failure' });
    const m = (re: RegExp) => re.exec(url.pathname);
    let match: RegExpExecArray | null;

    if (req.method === 'POST' && url.pathname === '/api/v1/alert') {
      const input = inputAlertSchema.safeParse(body);
      if (!input.success) return send(res, 400, { type: 'BadRequest', message: input.error.issues[0]?.message });
      const a = input.data;
      const dup = [...this.alerts.values()].find((x) => x.type === a.type && x.source === a.source && x.sourceRef === a.sourceRef);
      if (dup) return send(res, 400, { type: 'CreateError', message: `Alert ${a.type}:${a.source}:${a.sourceRef} already exists` });
      const alert: StubAlert = { _id: this.id('alert'), _type: 'Alert', type: a.type, source: a.source, sourceRef: a.sourceRef, title: a.title, description: a.description, severity: a.severity ?? 2, tags: a.tags ?? [], observables: a.observables ?? [], comments: [] };
      this.alerts.set(alert._id, alert);
      return send(res, 201, alert);
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/query') {
      const q = querySchema.safeParse(body);
      if (!q.success) return send(res, 400, { type: 'BadRequest', message: 'Invalid query' });
      let list: StubAlert[] = [];
      for (const op of q.data.query) {
        if (op._name === 'listAlert') list = [...this.alerts.values()];
        if (op._name === 'filter') list = list.filter((a) => op._and.every((c) => (a as unknown as Record<string, unknown>)[c._eq._field] === c._eq._value));
        if (op._name === 'page') list = list.slice(op.from, op.to);
      }
      return send(res, 200, list);
    }
    if ((match = m(/^\/api\/v1\/alert\/([^/]+)$/)) && req.method === 'PATCH') {
      const alert = this.alerts.get(decodeURIComponent(match[1]!));
      if (!alert) return send(res, 404, { type: 'NotFoundError', message: 'Alert not found' });
      const u = updateAlertSchema.safeParse(body);
      if (!u.success) return send(res, 400, { type: 'BadRequest', message: u.error.issues[0]?.message });
      Object.assign(alert, Object.fromEntries(Object.entries(u.data).filter(([, v]) => v !== undefined)));
      return send(res, 204);
    }
    if ((match = m(/^\/api\/v1\/alert\/([^/]+)\/case$/)) && req.method === 'POST') {
      const alert = this.alerts.get(decodeURIComponent(match[1]!));
      if (!alert) return send(res, 404, { type: 'NotFoundError', message: 'Alert not found' });
      if (alert.caseId) return send(res, 400, { type: 'BadRequest', message: 'The alert has already been imported' });
      const c: StubCase = { _id: this.id('case'), _type: 'Case', number: this.cases.size + 1, title: alert.title, status: 'New', stage: 'New', startDate: Date.now(), tasks: [] };
      this.cases.set(c._id, c);
      alert.caseId = c._id;
      const { tasks: _t, ...out } = c;
      return send(res, 201, out);
    }
    if ((match = m(/^\/api\/v1\/case\/([^/]+)\/task$/)) && req.method === 'POST') {
      const c = this.cases.get(decodeURIComponent(match[1]!));
      if (!c) return send(res, 404, { type: 'NotFoundError', message: 'Case not found' });
      const t = taskSchema.safeParse(body);
      if (!t.success) return send(res, 400, { type: 'BadRequest', message: t.error.issues[0]?.message });
      const task = { _id: this.id('task'), ...t.data, logs: [] as string[] };
      c.tasks.push(task);
      return send(res, 201, { _id: task._id, _type: 'Task', title: task.title, status: 'Waiting' });
    }
    if ((match = m(/^\/api\/v1\/task\/([^/]+)\/log$/)) && req.method === 'POST') {
      const task = [...this.cases.values()].flatMap((c) => c.tasks).find((t) => t._id === decodeURIComponent(match![1]!));
      if (!task) return send(res, 404, { type: 'NotFoundError', message: 'Task not found' });
      const msg = messageSchema.safeParse(body);
      if (!msg.success) return send(res, 400, { type: 'BadRequest', message: 'message is required' });
      task.logs.push(msg.data.message);
      return send(res, 201, { _id: this.id('log'), _type: 'Log', message: msg.data.message });
    }
    if ((match = m(/^\/api\/v1\/alert\/([^/]+)\/comment$/)) && req.method === 'POST') {
      const alert = this.alerts.get(decodeURIComponent(match[1]!));
      if (!alert) return send(res, 404, { type: 'NotFoundError', message: 'Alert not found' });
      const msg = messageSchema.safeParse(body);
      if (!msg.success) return send(res, 400, { type: 'BadRequest', message: 'message is required' });
      alert.comments.push(msg.data.message);
      return send(res, 201, { _id: this.id('comment'), _type: 'Comment', message: msg.data.message });
    }
    if ((match = m(/^\/api\/v1\/case\/([^/]+)$/)) && req.method === 'GET') {
      const c = this.cases.get(decodeURIComponent(match[1]!));
      if (!c) return send(res, 404, { type: 'NotFoundError', message: 'Case not found' });
      const { tasks: _t, ...out } = c;
      return send(res, 200, out);
    }
    return send(res, 404, { type: 'NotFoundError', message: `no route ${req.method} ${url.pathname}` });
  }
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}
