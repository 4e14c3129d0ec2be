import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A Cortex stand-in following its documented API: POST /api/analyzer/{id}/run {data, dataType, tlp, pap, message}
 * → a job in state Waiting; GET /api/job/{id} moves it through the scripted states (Waiting → InProgress → Success |
 * Failure, or stuck); GET /api/job/{id}/report → {report: {success, summary: {taxonomies}, full}}. Bearer auth;
 * every request recorded.
 */
export interface Taxonomy {
  level: 'info' | 'safe' | 'suspicious' | 'malicious';
  namespace: string;
  predicate: string;
  value: string | number;
}

export interface AnalyzerScript {
  dataTypes: string[];
  /** States the job reports on successive GET /api/job/{id}, the last one repeating. */
  states: Array<'Waiting' | 'InProgress' | 'Success' | 'Failure'>;
  taxonomies?: Taxonomy[];
  errorMessage?: string;
}

const runSchema = z.object({ data: z.string().min(1), dataType: z.string().min(1), tlp: z.number().int().min(0).max(4).optional(), pap: z.number().int().min(0).max(3).optional(), message: z.string().optional() }).strict();

interface Job {
  id: string;
  analyzerId: string;
  dataType: string;
  data: string;
  polls: number;
}

export class CortexStub {
  readonly requests: Array<{ method: string; path: string; authorization?: string; body: unknown }> = [];
  readonly jobs = new Map<string, Job>();
  private server: Server | undefined;
  private seq = 0;

  constructor(
    readonly analyzers: Record<string, AnalyzerScript>,
    readonly apiKey = 'cortex-test-key',
  ) {}

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

  private state(job: Job): AnalyzerScript['states'][number] {
    const states = this.analyzers[job.analyzerId]!.states;
    return states[Math.min(job.polls, states.length - 1)]!;
  }

  private view(job: Job): Record<string, unknown> {
    const script = this.analyzers[job.analyzerId]!;
    const status = this.state(job);
    return { id: job.id, _id: job.id, analyzerId: job.analyzerId, analyzerName: job.analyzerId, dataType: job.dataType, data: job.data, status, ...(status === 'Failure' && script.errorMessage ? { errorMessage: script.errorMessage } : {}) };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body: unknown = text ? JSON.parse(text) : undefined;
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    this.requests.push({ method: req.method ?? '', path, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), body });
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return send(res, 401, { type: 'AuthenticationError', message: 'Authentication failure' });
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/analyzer\/([^/]+)\/run$/.exec(path)) && req.method === 'POST') {
      const analyzerId = decodeURIComponent(m[1]!);
      const script = this.analyzers[analyzerId];
      if (!script) return send(res, 404, { type: 'NotFoundError', message: `worker ${analyzerId} not found` });
      const run = runSchema.safeParse(body);
      if (!run.success) return send(res, 400, { type: 'BadRequest', message: run.error.issues[0]?.message });
      if (!script.dataTypes.includes(run.data.dataType)) return send(res, 400, { type: 'BadRequest', message: `${analyzerId} does not accept ${run.data.dataType}` });
      this.seq += 1;
      const job: Job = { id: `job${this.seq}`, analyzerId, dataType: run.data.dataType, data: run.data.data, polls: 0 };
      this.jobs.set(job.id, job);
      return send(res, 200, this.view(job));
    }
    if ((m = /^\/api\/job\/([^/]+)$/.exec(path)) && req.method === 'GET') {
      const job = this.jobs.get(decodeURIComponent(m[1]!));
      if (!job) return send(res, 404, { type: 'NotFoundError', message: 'job not found' });
      job.polls += 1;
      return send(res, 200, this.view(job));
    }
    if ((m = /^\/api\/job\/([^/]+)\/report$/.exec(path)) && req.method === 'GET') {
      const job = this.jobs.get(decodeURIComponent(m[1]!));
      if (!job) return send(res, 404, { type: 'NotFoundError', message: 'job not found' });
      const script = this.analyzers[job.analyzerId]!;
      const status = this.state(job);
      if (status !== 'Success') return send(res, 200, { ...this.view(job), report: { success: false, errorMessage: script.errorMessage ?? 'not finished' } });
      return send(res, 200, { ...this.view(job), report: { success: true, summary: { taxonomies: script.taxonomies ?? [] }, full: { data: job.data }, artifacts: [] } });
    }
    return send(res, 404, { type: 'NotFoundError', message: `no route ${req.method} ${path}` });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
