import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionDriver } from '../driver.ts';
import type { ResponseConfig } from '../config.ts';
import { HttpCallError, expectBody, expectOk, httpCall, type HttpResponse } from '../http.ts';
import { observablesFromAlert, type Observable } from '../observables.ts';

/**
 * `cortex_analyze`: runs the analyzers configured per observable data type (POST /api/analyzer/{id}/run), polls each
 * job (GET /api/job/{id}: Waiting → InProgress → Success | Failure) with a bounded wait, then reads the report
 * (GET /api/job/{id}/report) and keeps its summary taxonomies. They go on the alert (annotations) and, through the
 * engine's log channel, into TheHive.
 */
export type CortexSettings = NonNullable<ResponseConfig['cortex']>;

const JOB_STATES = ['Waiting', 'InProgress', 'Success', 'Failure', 'Deleted'] as const;
const jobSchema = z.object({ id: z.string().optional(), _id: z.string().optional(), status: z.enum(JOB_STATES), errorMessage: z.string().optional() }).passthrough();
const taxonomySchema = z.object({ level: z.string(), namespace: z.string(), predicate: z.string(), value: z.union([z.string(), z.number(), z.boolean()]) }).passthrough();
const reportSchema = z
  .object({
    status: z.enum(JOB_STATES).optional(),
    report: z.object({ success: z.boolean().optional(), summary: z.object({ taxonomies: z.array(taxonomySchema).default([]) }).passthrough().optional(), errorMessage: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();

export type Taxonomy = z.infer<typeof taxonomySchema>;

export interface AnalysisResult {
  analyzer: string;
  dataType: string;
  data: string;
  job_id?: string;
  status: (typeof JOB_STATES)[number] | 'Timeout' | 'Error';
  taxonomies: Taxonomy[];
  error?: string;
}

const paramsSchema = z
  .object({
    /** The alert (`{{$alert}}`) to take observables from… */
    alert: z.record(z.string(), z.unknown()).optional(),
    /** …or explicit observables. */
    observables: z.array(z.object({ dataType: z.string().min(1), data: z.string().min(1) }).strict()).optional(),
    alert_id: z.string().optional(),
    tlp: z.number().int().min(0).max(4).default(2),
    pap: z.number().int().min(0).max(3).default(2),
  })
  .strict()
  .refine((p) => p.alert || p.observables, 'needs alert or observables');
type CortexParams = z.infer<typeof paramsSchema>;

function describeTaxonomy(t: Taxonomy): string {
  return `${t.namespace}:${t.predicate}=${String(t.value)} (${t.level})`;
}

export function createCortexDriver(settings: CortexSettings, apiKey: string | undefined): ActionDriver<CortexParams> {
  const base = settings.url.replace(/\/$/, '');
  const call = (method: 'GET' | 'POST', path: string, body: unknown, calls: ActionCall[], signal?: AbortSignal): Promise<HttpResponse> => {
    if (!apiKey) throw new NyxError(`Cortex: ${settings.api_key_env} is not set (the API key comes from the environment)`);
    return httpCall({ method, url: `${base}${path}`, headers: { authorization: `Bearer ${apiKey}` }, ...(body !== undefined ? { body } : {}), timeoutMs: settings.timeout_ms, ...(signal ? { signal } : {}) }, calls);
  };
  const plan = (p: CortexParams): Array<{ analyzer: string; observable: Pick<Observable, 'dataType' | 'data'> }> => {
    const observables = p.observables ?? observablesFromAlert(p.alert);
    return observables.flatMap((o) => (settings.analyzers[o.dataType] ?? []).map((analyzer) => ({ analyzer, observable: { dataType: o.dataType, data: o.data } })));
  };
  const runBody = (p: CortexParams, o: { dataType: string; data: string }) => ({ data: o.data, dataType: o.dataType, tlp: p.tlp, pap: p.pap, message: `Nyx${p.alert_id ? ` alert ${p.alert_id}` : ''}` });

  const analyze = async (p: CortexParams, item: { analyzer: string; observable: { dataType: string; data: string } }, calls: ActionCall[], signal?: AbortSignal): Promise<AnalysisResult> => {
    const result: AnalysisResult = { analyzer: item.analyzer, dataType: item.observable.dataType, data: item.observable.data, status: 'Error', taxonomies: [] };
    try {
      const started = await call('POST', `/api/analyzer/${encodeURIComponent(item.analyzer)}/run`, runBody(p, item.observable), calls, signal);
      expectOk(started, `Cortex run ${item.analyzer}`);
      let job = expectBody(started, jobSchema, `Cortex run ${item.analyzer}`);
      const jobId = job.id ?? job._id;
      if (!jobId) throw new HttpCallError(`Cortex run ${item.analyzer}: the job has no id`);
      result.job_id = jobId;
      const deadline = Date.now() + settings.max_wait_ms;
      while (job.status === 'Waiting' || job.status === 'InProgress') {
        if (Date.now() >= deadline) {
          result.status = 'Timeout';
          result.error = `still ${job.status} after ${settings.max_wait_ms}ms`;
          return result;
        }
        await sleep(settings.poll_interval_ms, undefined, signal ? { signal } : {});
        const polled = await call('GET', `/api/job/${encodeURIComponent(jobId)}`, undefined, calls, signal);
        expectOk(polled, `Cortex job ${jobId}`);
        job = expectBody(polled, jobSchema, `Cortex job ${jobId}`);
      }
      result.status = job.status;
      if (job.status !== 'Success') {
        if (job.errorMessage) result.error = job.errorMessage;
        return result;
      }
      const report = await call('GET', `/api/job/${encodeURIComponent(jobId)}/report`, undefined, calls, signal);
      expectOk(report, `Cortex report ${jobId}`);
      result.taxonomies = expectBody(report, reportSchema, `Cortex report ${jobId}`).report?.summary?.taxonomies ?? [];
      return result;
    } catch (err) {
      if (!(err instanceof HttpCallError || err instanceof NyxError)) throw err;
      result.error = err.message;
      return result;
    }
  };

  return {
    type: 'cortex_analyze',
    parse: (params) => paramsSchema.parse(params),
    dryRun: (p) => plan(p).map((item) => ({ description: `POST ${base}/api/analyzer/${item.analyzer}/run, then poll GET ${base}/api/job/<id> and GET ${base}/api/job/<id>/report`, request: runBody(p, item.observable) })),
    async apply(ctx, p) {
      const calls: ActionCall[] = [];
      const items = plan(p);
      if (!items.length) return { ok: true, calls, summary: 'no observable of a data type with configured analyzers (response.cortex.analyzers)', annotations: { cortex: [] } };
      const results = await Promise.all(items.map((item) => analyze(p, item, calls, ctx.signal)));
      const lines = results.map((r) => `${r.analyzer} on ${r.dataType} ${r.data}: ${r.status}${r.taxonomies.length ? ` ${r.taxonomies.map(describeTaxonomy).join(', ')}` : ''}${r.error ? ` (${r.error})` : ''}`);
      // Failure is a verdict Cortex reached; only no answer (Timeout/Error) fails the step.
      const incomplete = results.filter((r) => r.status === 'Timeout' || r.status === 'Error');
      return {
        ok: incomplete.length === 0,
        calls,
        summary: `Cortex: ${lines.join('; ')}`,
        annotations: { cortex: results },
        undo: { jobs: results.map((r) => r.job_id).filter(Boolean) },
        ...(incomplete.length ? { error: `${incomplete.length} of ${results.length} analyses did not finish` } : {}),
      };
    },
    undo: async () => ({ ok: true, calls: [], summary: 'an analysis changes nothing: nothing to undo' }),
    status: async () => ({ active: false, detail: 'analysis finished' }),
  };
}
