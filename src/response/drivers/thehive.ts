import { z } from 'zod';
import { NyxError } from '../../errors.ts';
import type { ActionCall, ActionDriver, ActionOutcome } from '../driver.ts';
import type { ResponseConfig } from '../config.ts';
import { HttpCallError, expectBody, expectOk, httpCall, type HttpResponse } from '../http.ts';
import { observablesFromAlert } from '../observables.ts';

/**
 * TheHive 5 (API v1).
 * `thehive_alert`: creates an alert whose sourceRef is Nyx's deterministic alert id, with observables from the
 * alert's ECS fields. TheHive refuses a second alert with the same type/source/sourceRef (HTTP 400): the driver then
 * finds that alert (POST /api/v1/query) and updates it (PATCH), so a retry never duplicates. With `promote`, the alert
 * becomes a case (POST /api/v1/alert/{id}/case) with the given tasks, plus a "Nyx automated response" task whose log
 * receives every later action's outcome (the engine's log channel).
 * `thehive_log`: one log line on that task (or a comment on the alert when there is no case).
 */
export type TheHiveSettings = NonNullable<ResponseConfig['thehive']>;

const idSchema = z.object({ _id: z.string() }).passthrough();
const alertOutSchema = z.object({ _id: z.string(), caseId: z.string().optional(), sourceRef: z.string().optional() }).passthrough();
const caseOutSchema = z
  .object({ _id: z.string(), number: z.number().optional(), status: z.string().optional(), stage: z.string().optional(), startDate: z.number().optional(), endDate: z.number().nullable().optional() })
  .passthrough();

/** ECS severity 0-100 onto TheHive's 1 (low) … 4 (critical). */
export function theHiveSeverity(ecsSeverity: number): 1 | 2 | 3 | 4 {
  if (ecsSeverity >= 75) return 4;
  if (ecsSeverity >= 50) return 3;
  if (ecsSeverity >= 25) return 2;
  return 1;
}

export class TheHiveClient {
  constructor(
    readonly settings: TheHiveSettings,
    private readonly apiKey: string | undefined,
  ) {}

  url(path: string): string {
    return `${this.settings.url.replace(/\/$/, '')}${path}`;
  }

  async call(method: 'GET' | 'POST' | 'PATCH', path: string, body: unknown, calls: ActionCall[], signal?: AbortSignal): Promise<HttpResponse> {
    if (!this.apiKey) throw new NyxError(`TheHive: ${this.settings.api_key_env} is not set (the API key comes from the environment)`);
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}` };
    if (this.settings.organisation) headers['x-organisation'] = this.settings.organisation;
    return httpCall({ method, url: this.url(path), headers, ...(body !== undefined ? { body } : {}), timeoutMs: this.settings.timeout_ms, ...(signal ? { signal } : {}) }, calls);
  }

  async findAlertBySourceRef(sourceRef: string, calls: ActionCall[], signal?: AbortSignal): Promise<z.infer<typeof alertOutSchema> | undefined> {
    const query = {
      query: [
        { _name: 'listAlert' },
        { _name: 'filter', _and: [{ _eq: { _field: 'type', _value: this.settings.type } }, { _eq: { _field: 'source', _value: this.settings.source } }, { _eq: { _field: 'sourceRef', _value: sourceRef } }] },
        { _name: 'page', from: 0, to: 1 },
      ],
    };
    const res = await this.call('POST', '/api/v1/query?name=nyx-find-alert', query, calls, signal);
    expectOk(res, 'TheHive alert search');
    return expectBody(res, z.array(alertOutSchema), 'TheHive alert search')[0];
  }

  /** A case's status, read back so time to resolution can be measured. */
  async caseStatus(caseId: string, calls: ActionCall[] = [], signal?: AbortSignal): Promise<z.infer<typeof caseOutSchema>> {
    const res = await this.call('GET', `/api/v1/case/${encodeURIComponent(caseId)}`, undefined, calls, signal);
    expectOk(res, 'TheHive case');
    return expectBody(res, caseOutSchema, 'TheHive case');
  }
}

const taskSchema = z.union([z.string().min(1).transform((title) => ({ title })), z.object({ title: z.string().min(1), description: z.string().optional(), group: z.string().optional() }).strict()]);

const alertParamsSchema = z
  .object({
    /** The Nyx alert document (`{{$alert}}`): title, severity and observables come from it. */
    alert: z.record(z.string(), z.unknown()),
    /** Nyx's alert id (`{{$alert_id}}`): TheHive's sourceRef. */
    alert_id: z.string().min(1),
    title: z.string().min(1).optional(),
    description: z.string().optional(),
    tags: z.array(z.string()).default([]),
    tlp: z.number().int().min(0).max(4).default(2),
    pap: z.number().int().min(0).max(3).default(2),
    /** Promote to a case (Contain/Recover playbooks). */
    promote: z.boolean().default(false),
    tasks: z.array(taskSchema).default([]),
  })
  .strict();
type TheHiveAlertParams = z.infer<typeof alertParamsSchema>;

const RESPONSE_TASK = 'Nyx automated response';

function alertBody(settings: TheHiveSettings, p: TheHiveAlertParams): Record<string, unknown> {
  const a = p.alert as { rule?: { name?: string; id?: string }; event?: { severity?: number; risk_score?: number }; nyx?: { alert?: { reason?: string; entity?: string } }; '@timestamp'?: string; threat?: { technique?: { id?: string[] } } };
  const techniques = a.threat?.technique?.id ?? [];
  return {
    type: settings.type,
    source: settings.source,
    sourceRef: p.alert_id,
    title: p.title ?? `${a.rule?.name ?? 'Nyx alert'}${a.nyx?.alert?.entity ? ` — ${a.nyx.alert.entity}` : ''}`,
    description: p.description ?? `${a.nyx?.alert?.reason ?? ''}\n\nNyx alert ${p.alert_id}, rule ${a.rule?.id ?? '?'}, risk score ${a.event?.risk_score ?? '?'}.`.trim(),
    severity: theHiveSeverity(a.event?.severity ?? 0),
    date: a['@timestamp'] ? Date.parse(a['@timestamp']) : Date.now(),
    tags: [...new Set([...p.tags, ...(a.rule?.id ? [`nyx:rule=${a.rule.id}`] : []), ...techniques.map((t) => `attack:${t}`)])],
    tlp: p.tlp,
    pap: p.pap,
    observables: observablesFromAlert(p.alert).map((o) => ({ dataType: o.dataType, data: o.data, tags: o.tags })),
  };
}

function failure(err: unknown, calls: ActionCall[], what: string): ActionOutcome {
  if (err instanceof HttpCallError || err instanceof NyxError) return { ok: false, calls, summary: `${what}: ${err.message}`, error: err.message };
  throw err;
}

export function createTheHiveAlertDriver(client: TheHiveClient): ActionDriver<TheHiveAlertParams> {
  return {
    type: 'thehive_alert',
    parse: (params) => alertParamsSchema.parse(params),
    dryRun(p) {
      const calls: ActionCall[] = [{ description: `POST ${client.url('/api/v1/alert')}`, request: alertBody(client.settings, p) }];
      calls.push({ description: `(on HTTP 400 "already exists") POST ${client.url('/api/v1/query')} then PATCH ${client.url('/api/v1/alert/<id>')}` });
      if (p.promote) {
        calls.push({ description: `POST ${client.url('/api/v1/alert/<id>/case')}` });
        for (const t of [...p.tasks, { title: RESPONSE_TASK }]) calls.push({ description: `POST ${client.url('/api/v1/case/<caseId>/task')}`, request: t });
      }
      return calls;
    },
    async apply(ctx, p) {
      const calls: ActionCall[] = [];
      try {
        const body = alertBody(client.settings, p);
        let alertId: string;
        let existingCase: string | undefined;
        let duplicate = false;
        const created = await client.call('POST', '/api/v1/alert', body, calls, ctx.signal);
        if (created.status === 400 && /exist/i.test(JSON.stringify(created.body ?? ''))) {
          // TheHive's answer to a second alert with the same type/source/sourceRef: find it and update it.
          duplicate = true;
          const found = await client.findAlertBySourceRef(p.alert_id, calls, ctx.signal);
          if (!found) throw new HttpCallError(`TheHive said the alert exists, but no alert has sourceRef ${p.alert_id}`);
          alertId = found._id;
          existingCase = found.caseId;
          const patch = await client.call('PATCH', `/api/v1/alert/${encodeURIComponent(alertId)}`, { title: body.title, description: body.description, severity: body.severity, tags: body.tags }, calls, ctx.signal);
          expectOk(patch, 'TheHive alert update');
        } else {
          expectOk(created, 'TheHive alert create');
          alertId = expectBody(created, alertOutSchema, 'TheHive alert create')._id;
        }
        const undo: Record<string, unknown> = { thehive_alert_id: alertId, log_channel: { type: 'thehive_log', params: { alert_id: alertId } } };
        let summary = `TheHive alert ${alertId} ${duplicate ? 'already existed (sourceRef); updated' : 'created'} with ${(body.observables as unknown[]).length} observables`;
        if (p.promote) {
          let caseId = existingCase;
          let taskId: string | undefined;
          if (!caseId) {
            const promoted = await client.call('POST', `/api/v1/alert/${encodeURIComponent(alertId)}/case`, {}, calls, ctx.signal);
            expectOk(promoted, 'TheHive promote to case');
            const c = expectBody(promoted, caseOutSchema, 'TheHive promote to case');
            caseId = c._id;
            for (const task of p.tasks) {
              const r = await client.call('POST', `/api/v1/case/${encodeURIComponent(caseId)}/task`, task, calls, ctx.signal);
              expectOk(r, `TheHive task "${task.title}"`);
            }
            const r = await client.call('POST', `/api/v1/case/${encodeURIComponent(caseId)}/task`, { title: RESPONSE_TASK, description: 'Outcomes of the actions Nyx took on this case, one log per action.' }, calls, ctx.signal);
            expectOk(r, 'TheHive response task');
            taskId = expectBody(r, idSchema, 'TheHive response task')._id;
            summary += `; promoted to case ${c.number !== undefined ? `#${c.number} ` : ''}(${caseId}) with ${p.tasks.length} tasks`;
          } else summary += `; already in case ${caseId}`;
          undo.case_id = caseId;
          if (taskId) {
            undo.response_task_id = taskId;
            undo.log_channel = { type: 'thehive_log', params: { case_id: caseId, task_id: taskId } };
          }
        }
        return { ok: true, calls, summary, undo };
      } catch (err) {
        return failure(err, calls, 'TheHive');
      }
    },
    // An analyst's record is never deleted by automation.
    undo: async () => ({ ok: true, calls: [], summary: 'TheHive alerts and cases are kept (close them in TheHive)' }),
    async status(ctx, _p, undo) {
      const caseId = typeof undo.case_id === 'string' ? undo.case_id : undefined;
      if (!caseId) return { active: true, detail: `TheHive alert ${String(undo.thehive_alert_id ?? '?')}` };
      const c = await client.caseStatus(caseId, [], ctx.signal);
      const closed = c.stage === 'Closed' || (c.endDate !== undefined && c.endDate !== null);
      return { active: !closed, detail: `case ${c.number ?? caseId}: status ${c.status ?? '?'}${c.stage ? `, stage ${c.stage}` : ''}${c.endDate ? `, closed ${new Date(c.endDate).toISOString()}` : ''}` };
    },
  };
}

const logParamsSchema = z
  .object({ message: z.string().min(1), case_id: z.string().optional(), task_id: z.string().optional(), alert_id: z.string().optional() })
  .strict()
  .refine((p) => p.task_id || p.alert_id, 'needs task_id (a case task) or alert_id');
type TheHiveLogParams = z.infer<typeof logParamsSchema>;

export function createTheHiveLogDriver(client: TheHiveClient): ActionDriver<TheHiveLogParams> {
  const path = (p: TheHiveLogParams): string => (p.task_id ? `/api/v1/task/${encodeURIComponent(p.task_id)}/log` : `/api/v1/alert/${encodeURIComponent(p.alert_id ?? '')}/comment`);
  return {
    type: 'thehive_log',
    parse: (params) => logParamsSchema.parse(params),
    dryRun: (p) => [{ description: `POST ${client.url(path(p))}`, request: { message: p.message } }],
    async apply(ctx, p) {
      const calls: ActionCall[] = [];
      try {
        const res = await client.call('POST', path(p), { message: p.message }, calls, ctx.signal);
        expectOk(res, 'TheHive log');
        return { ok: true, calls, summary: p.task_id ? `logged on TheHive task ${p.task_id}` : `commented on TheHive alert ${p.alert_id}` };
      } catch (err) {
        return failure(err, calls, 'TheHive log');
      }
    },
    undo: async () => ({ ok: true, calls: [], summary: 'logs are kept' }),
    status: async () => ({ active: true, detail: 'logged' }),
  };
}
