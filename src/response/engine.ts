import { createHash } from 'node:crypto';
import { errors, type Client } from '@elastic/elasticsearch';
import { NyxError, describeError } from '../errors.ts';
import { getLogger, type Logger } from '../log/logger.ts';
import { alertIndex, alertSchema, type AlertDocument } from '../alerts/index.ts';
import { LeaseStore, LEASE_INDEX } from '../coordination/index.ts';
import type { ActionCall, ActionOutcome, DriverContext } from './driver.ts';
import { actionDriver, type AnyActionDriver } from './drivers/index.ts';
import type { ResponseConfig } from './config.ts';
import { DEFAULT_LEVEL_FLOORS, higherLevel, levelRank, type ResponseLevel } from './levels.ts';
import { playbookMatches, type Playbook, type PlaybookStep } from './playbook.ts';
import { MissingFieldError, renderParams } from './template.ts';
import { Guardrails, targetsOf, type ActionTarget, type GuardrailVerdict } from './guardrails.ts';
import type { HostLookup, OwnHost } from './own-hosts.ts';
import { ResponseStore, type ActionRecord, type ActionStatus, type StoredAction } from './store.ts';

/** Deterministic action id: the same alert, playbook and step always make the same action, on any replica. */
export function actionId(alertId: string, playbook: string, step: string): string {
  return createHash('sha256').update(`${alertId}\u0000${playbook}\u0000${step}`).digest('hex').slice(0, 32);
}

/** One step's result in a run (or, for a dry run, what it would do). */
export interface StepReport {
  actionId: string;
  step: string;
  type: string;
  level: ResponseLevel;
  status: ActionStatus | 'would_apply' | 'would_need_approval' | 'would_refuse' | 'already_done' | 'busy';
  summary: string;
  calls: ActionCall[];
}

export interface PlaybookRun {
  playbook: string;
  alertId: string;
  steps: StepReport[];
  /** Why the run ended early (a stop, an approval wait, another replica holding it). */
  halted?: string;
}

export interface ResponseEngineOptions {
  client: Client;
  namespace: string;
  config: ResponseConfig;
  playbooks: Playbook[];
  /** This replica's identity, for leases and audit. */
  holder: string;
  log?: Logger;
  /** Addresses protected on top of config (Elasticsearch, Kibana, Nyx hosts). */
  extraProtectedIps?: string[];
  /** Hosts Nyx depends on, by name or address: protected by the addresses they resolve to. */
  ownHosts?: OwnHost[];
  /** Resolver for ownHosts (default: the system's). */
  hostLookup?: HostLookup;
  /** Benchmarks only: measures the cost of the guardrails. Never reachable from a playbook or config. */
  guardrailsOff?: boolean;
  refresh?: boolean | 'wait_for';
  /** The clock (tests move it to end TTLs and approvals without waiting). */
  now?: () => number;
  leaseIndex?: string;
  /** Upper bound on one driver call; a driver that never answers fails the step. */
  stepTimeoutMs?: number;
}

const DONE: ActionStatus[] = ['applied', 'failed', 'refused', 'rejected', 'expired', 'released', 'undone', 'skipped'];
const FAILED: ActionStatus[] = ['failed', 'refused', 'rejected', 'expired'];

/** A channel an earlier step opened (e.g. a TheHive case) that receives every later action's outcome as a log. */
interface LogChannel {
  type: string;
  params: Record<string, unknown>;
}

/**
 * The playbook engine: matches alerts to playbooks and runs their steps in order, each through the guardrails,
 * the level/approval gate, its driver and the audit trail. It looks drivers up by type and knows nothing else of them.
 */
export class ResponseEngine {
  readonly store: ResponseStore;
  readonly guardrails: Guardrails;
  private readonly leases: LeaseStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly floors: Record<string, ResponseLevel>;
  /** Runs in flight in this process: the lease keeps other replicas out, this keeps a second local caller out. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly options: ResponseEngineOptions) {
    this.store = new ResponseStore(options.client, options.namespace, options.refresh ?? false);
    this.guardrails = new Guardrails(options.config.guardrails, options.extraProtectedIps ?? [], {
      ...(options.ownHosts ? { ownHosts: options.ownHosts } : {}),
      ...(options.hostLookup ? { lookup: options.hostLookup } : {}),
    });
    this.leases = new LeaseStore(options.client, options.holder, options.leaseIndex ?? LEASE_INDEX);
    this.log = options.log ?? getLogger('response');
    this.now = options.now ?? Date.now;
    this.floors = { ...DEFAULT_LEVEL_FLOORS };
    // Config may raise a floor, never lower a built-in one.
    for (const [type, level] of Object.entries(options.config.level_floors)) this.floors[type] = higherLevel(this.floors[type] ?? 'audit', level);
  }

  get playbooks(): Playbook[] {
    return this.options.playbooks;
  }

  playbook(name: string): Playbook {
    const found = this.options.playbooks.find((p) => p.name === name);
    if (!found) throw new NyxError(`no playbook named "${name}"`, `known: ${this.options.playbooks.map((p) => p.name).join(', ') || 'none'}`);
    return found;
  }

  /** The level a step runs at: its own (or its playbook's), never below its action type's floor. */
  stepLevel(playbook: Playbook, step: PlaybookStep): ResponseLevel {
    return higherLevel(step.level ?? playbook.level, this.floors[step.type] ?? 'audit');
  }

  needsApproval(level: ResponseLevel): boolean {
    return levelRank(level) > levelRank(this.options.config.unattended_level);
  }

  async readAlert(alertId: string): Promise<AlertDocument> {
    let res;
    try {
      res = await this.options.client.get({ index: alertIndex(this.options.namespace), id: alertId });
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) throw new NyxError(`no alert ${alertId} in ${alertIndex(this.options.namespace)}`);
      throw err;
    }
    const parsed = alertSchema.safeParse(res._source);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new NyxError(`alert ${alertId}: ${issue?.path.join('.') || '(document)'}: ${issue?.message ?? 'not an alert document'}`);
    }
    return parsed.data;
  }

  /** Runs every matching playbook on one alert. */
  async handleAlert(alertId: string, alert: AlertDocument): Promise<PlaybookRun[]> {
    const runs: PlaybookRun[] = [];
    for (const playbook of this.options.playbooks) {
      if (playbookMatches(playbook, alert)) runs.push(await this.runPlaybook(playbook, alertId, alert));
    }
    return runs;
  }

  /** Whether every step of these playbooks already has a record for this alert (cheap skip for re-read alerts). */
  async alreadyHandled(alertId: string, alert: AlertDocument): Promise<boolean> {
    const ids = this.options.playbooks.filter((p) => playbookMatches(p, alert)).flatMap((p) => p.steps.map((s) => actionId(alertId, p.name, s.id)));
    if (!ids.length) return true;
    const existing = await this.store.existingActions(ids);
    return ids.every((id) => existing.has(id));
  }

  /** Shows every call a playbook would make on an alert, changing nothing (no lease, no record, no audit). */
  async dryRun(playbook: Playbook, alertId: string, alert: AlertDocument): Promise<PlaybookRun> {
    const run: PlaybookRun = { playbook: playbook.name, alertId, steps: [] };
    for (const step of playbook.steps) {
      const id = actionId(alertId, playbook.name, step.id);
      const level = this.stepLevel(playbook, step);
      const report = (status: StepReport['status'], summary: string, calls: ActionCall[] = []): StepReport => ({ actionId: id, step: step.id, type: step.type, level, status, summary, calls });
      const prepared = this.prepare(playbook, step, id, alertId, alert);
      const guarded = prepared.ok || !prepared.rendered ? undefined : await this.protectedVerdict(prepared.targets, alert, prepared.rendered);
      if (!prepared.ok) {
        run.steps.push(report('would_refuse', guarded && !guarded.ok ? `${guarded.rule}: ${guarded.reason}` : prepared.reason));
        continue;
      }
      const verdict = this.options.guardrailsOff ? { ok: true as const } : this.firstFailure([this.guardrails.checkBreaker(playbook.name, this.now()), await this.protectedVerdict(prepared.targets, alert, prepared.rendered)]);
      if (!verdict.ok) {
        run.steps.push(report('would_refuse', `${verdict.rule}: ${verdict.reason}`));
        continue;
      }
      const calls = prepared.driver.dryRun(prepared.params);
      run.steps.push(report(this.needsApproval(level) ? 'would_need_approval' : 'would_apply', this.needsApproval(level) ? `level ${level} is above response.unattended_level (${this.options.config.unattended_level}): an approval would be requested` : `would run ${step.type}`, calls));
    }
    return run;
  }

  /**
   * Runs a playbook on an alert. One replica at a time holds the run's lease; steps that already have a record are
   * not run again, so a re-read alert, a retry or a second replica never acts twice.
   */
  async runPlaybook(playbook: Playbook, alertId: string, alert: AlertDocument): Promise<PlaybookRun> {
    const run: PlaybookRun = { playbook: playbook.name, alertId, steps: [] };
    const leaseName = `response-run:${this.options.namespace}:${actionId(alertId, playbook.name, '')}`;
    if (this.inFlight.has(leaseName)) {
      run.halted = 'already running in this process';
      return run;
    }
    this.inFlight.add(leaseName);
    let leased = false;
    try {
      leased = !!(await this.leases.acquire(leaseName, this.options.config.lease_ms, this.now()));
      if (!leased) {
        run.halted = 'another replica is running this playbook on this alert';
        return run;
      }
      let channel: LogChannel | undefined;
      let stopped: string | undefined;
      for (const step of playbook.steps) {
        const id = actionId(alertId, playbook.name, step.id);
        const level = this.stepLevel(playbook, step);
        const existing = await this.store.getAction(id);
        if (existing?.record.undo && isLogChannel(existing.record.undo.log_channel)) channel = existing.record.undo.log_channel;
        if (stopped) {
          if (!existing) {
            const rec = this.baseRecord(playbook, step, id, alertId, alert, level, 'skipped');
            rec.summary = `not run: ${stopped}`;
            await this.store.putAction(rec);
            await this.store.audit({ ...auditRef(rec), event: 'skipped', reason: stopped, actor: this.options.holder });
            run.steps.push(toReport(rec, 'skipped'));
          } else run.steps.push(toReport(existing.record, 'already_done'));
          continue;
        }
        if (existing && existing.record.status === 'awaiting_approval') {
          run.steps.push(toReport(existing.record, 'awaiting_approval'));
          run.halted = `step ${step.id} waits for approval (nyx actions approve ${id})`;
          return run;
        }
        if (existing && DONE.includes(existing.record.status)) {
          run.steps.push(toReport(existing.record, 'already_done'));
          if (FAILED.includes(existing.record.status) && existing.record.on_error === 'stop') stopped = `step ${step.id} ended ${existing.record.status}`;
          continue;
        }
        await this.leases.acquire(leaseName, this.options.config.lease_ms, this.now());
        const record = await this.executeStep(playbook, step, id, alertId, alert, level, existing, channel);
        if (record.undo && isLogChannel(record.undo.log_channel)) channel = record.undo.log_channel;
        run.steps.push(toReport(record, record.status));
        if (record.status === 'awaiting_approval') {
          run.halted = `step ${step.id} waits for approval (nyx actions approve ${id})`;
          return run;
        }
        if (FAILED.includes(record.status) && step.on_error === 'stop') stopped = `step ${step.id} ${record.status} and declares on_error: stop`;
      }
      if (stopped) run.halted = stopped;
      return run;
    } finally {
      this.inFlight.delete(leaseName);
      if (leased) await this.leases.release(leaseName).catch((err: unknown) => this.log.warn({ err }, 'lease release failed'));
    }
  }

  private prepare(
    playbook: Playbook,
    step: PlaybookStep,
    id: string,
    alertId: string,
    alert: AlertDocument,
  ): { ok: true; driver: AnyActionDriver; params: unknown; rendered: Record<string, unknown>; targets: ActionTarget[] } | { ok: false; reason: string; rendered?: Record<string, unknown>; targets: ActionTarget[] } {
    const driver = actionDriver(step.type);
    if (!driver) return { ok: false, reason: `unknown step type "${step.type}" (no driver registered for it) in ${playbook.file}`, targets: [] };
    let rendered: Record<string, unknown>;
    try {
      rendered = renderParams(step.params, this.templateVars(playbook, step, id, alertId, alert)) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof MissingFieldError) return { ok: false, reason: `cannot derive the target: ${err.message} (step ${step.id} params)`, targets: [] };
      throw err;
    }
    let params: unknown;
    try {
      params = driver.parse(rendered);
    } catch (err) {
      // The targets still count: a protected address the driver cannot even parse (0.0.0.0/0) is refused as protected.
      return { ok: false, reason: `step ${step.id} params: ${describeError(err)}`, rendered, targets: targetsOf(rendered) };
    }
    return { ok: true, driver, params, rendered, targets: targetsOf(rendered) };
  }

  private templateVars(playbook: Playbook, step: PlaybookStep, id: string, alertId: string, alert: AlertDocument): Record<string, unknown> {
    return {
      $alert: alert,
      $alert_id: alertId,
      $action_id: id,
      $playbook: playbook.name,
      $step: step.id,
      $level: this.stepLevel(playbook, step),
      $playbook_level: playbook.level,
      $rule_id: alert.rule.id,
      $rule_name: alert.rule.name,
      $severity: alert.event.severity,
      $risk_score: alert.event.risk_score,
      $namespace: this.options.namespace,
      $ttl_seconds: step.ttl,
    };
  }

  /** The protected-target check, after Nyx's own hostnames are resolved (when an address is at stake and they are due). */
  private async protectedVerdict(targets: ActionTarget[], alert: unknown, rendered: Record<string, unknown>): Promise<GuardrailVerdict> {
    if (this.options.guardrailsOff) return { ok: true };
    if (targets.some((t) => t.kind === 'ip')) await this.guardrails.refreshOwnHosts(this.now());
    return this.guardrails.checkTargets(targets, alert, rendered);
  }

  private firstFailure(verdicts: GuardrailVerdict[]): GuardrailVerdict {
    return verdicts.find((v) => !v.ok) ?? { ok: true };
  }

  private baseRecord(playbook: Playbook, step: PlaybookStep, id: string, alertId: string, alert: AlertDocument, level: ResponseLevel, status: ActionStatus): ActionRecord {
    const at = new Date(this.now()).toISOString();
    return {
      id,
      namespace: this.options.namespace,
      status,
      alert: { id: alertId, rule_id: alert.rule.id, rule_name: alert.rule.name, severity: alert.event.severity, risk_score: alert.event.risk_score, entity: alert.nyx.alert.entity },
      playbook: playbook.name,
      step: step.id,
      type: step.type,
      level,
      on_error: step.on_error,
      calls: [],
      created_at: at,
      updated_at: at,
      holder: this.options.holder,
      ...(step.ttl ? { ttl_seconds: step.ttl } : {}),
    };
  }

  private async executeStep(
    playbook: Playbook,
    step: PlaybookStep,
    id: string,
    alertId: string,
    alert: AlertDocument,
    level: ResponseLevel,
    existing: StoredAction | undefined,
    channel: LogChannel | undefined,
  ): Promise<ActionRecord> {
    const record = existing?.record ?? this.baseRecord(playbook, step, id, alertId, alert, level, 'refused');
    record.holder = this.options.holder;
    const approved = existing?.record.status === 'approved';
    const prepared = this.prepare(playbook, step, id, alertId, alert);
    if (prepared.rendered) record.params = prepared.rendered;
    if (!prepared.ok) {
      const guarded = prepared.rendered ? await this.protectedVerdict(prepared.targets, alert, prepared.rendered) : { ok: true as const };
      if (!guarded.ok) return this.finish(record, 'refused', { summary: `refused by guardrail ${guarded.rule}: ${guarded.reason}`, error: guarded.reason }, `refused:${guarded.rule}`, channel, existing);
      return this.finish(record, 'refused', { summary: prepared.reason, error: prepared.reason }, 'refused', channel, existing);
    }
    record.params = prepared.rendered;
    const target = prepared.targets[0];
    if (target) record.target = target;

    if (!this.options.guardrailsOff) {
      const verdict = this.firstFailure([this.guardrails.checkBreaker(playbook.name, this.now()), await this.protectedVerdict(prepared.targets, alert, prepared.rendered)]);
      if (!verdict.ok) return this.finish(record, 'refused', { summary: `refused by guardrail ${verdict.rule}: ${verdict.reason}`, error: verdict.reason }, `refused:${verdict.rule}`, channel, existing);
    }

    if (!approved && this.needsApproval(level)) {
      record.status = 'awaiting_approval';
      record.approval = { required: true, expires_at: new Date(this.now() + this.options.config.approval_ttl_seconds * 1000).toISOString() };
      record.calls = prepared.driver.dryRun(prepared.params);
      record.summary = `level ${level} is above response.unattended_level (${this.options.config.unattended_level}): waits for approval until ${record.approval.expires_at}`;
      record.updated_at = new Date(this.now()).toISOString();
      if (!(await this.store.putAction(record, existing))) return (await this.store.getAction(id))?.record ?? record;
      await this.store.audit({ ...auditRef(record), event: 'approval_requested', reason: record.summary, actor: this.options.holder, detail: { expires_at: record.approval.expires_at, would_call: record.calls.map((c) => c.description) } });
      await this.note(record, record.summary);
      if (channel) await this.sendToChannel(channel, record);
      return record;
    }
    if (!approved) record.approval = { required: false, decision: 'unattended' };

    if (!this.options.guardrailsOff) {
      const rate = this.guardrails.takeRate(step.type, prepared.targets, this.now());
      if (!rate.ok) return this.finish(record, 'refused', { summary: `refused by guardrail ${rate.rule}: ${rate.reason}`, error: rate.reason }, `refused:${rate.rule}`, channel, existing);
    }

    const outcome = await this.callDriver(prepared.driver, (ctx) => prepared.driver.apply(ctx, prepared.params), `${step.type} apply`);
    if (!this.options.guardrailsOff) {
      const opened = this.guardrails.recordOutcome(playbook.name, outcome.ok, this.now());
      if (opened) await this.store.audit({ alert_id: alertId, playbook: playbook.name, event: 'circuit_opened', reason: `playbook ${playbook.name} failed ${this.options.config.guardrails.circuit_breaker.failures} times in a row; stopped for ${this.options.config.guardrails.circuit_breaker.cooldown_seconds}s`, actor: this.options.holder });
    }
    record.calls = outcome.calls;
    if (outcome.undo) record.undo = outcome.undo;
    if (outcome.annotations) record.annotations = outcome.annotations;
    if (outcome.ok) {
      record.applied_at = new Date(this.now()).toISOString();
      if (step.ttl) record.expires_at = new Date(this.now() + step.ttl * 1000).toISOString();
      record.undo_hint = `nyx actions undo ${id}${step.ttl ? ` (released automatically at ${record.expires_at})` : ''}`;
    }
    return this.finish(record, outcome.ok ? 'applied' : 'failed', { summary: outcome.summary, ...(outcome.error ? { error: outcome.error } : {}), ...(outcome.annotations ? { annotations: outcome.annotations } : {}) }, outcome.ok ? 'applied' : 'failed', channel, existing);
  }

  /** Calls a driver with a bounded wait; a throw or a timeout becomes a failed outcome, never an escape. */
  private async callDriver(driver: AnyActionDriver, call: (ctx: DriverContext) => Promise<ActionOutcome>, what: string): Promise<ActionOutcome> {
    const timeoutMs = this.options.stepTimeoutMs ?? 180_000;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ActionOutcome>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ ok: false, calls: [], summary: `${what} timed out after ${timeoutMs}ms`, error: 'timeout' });
      }, timeoutMs);
    });
    try {
      const guard = this.options.guardrailsOff ? {} : { guard: this.guardrails };
      return await Promise.race([call({ client: this.options.client, log: this.log.child({ driver: driver.type }), signal: controller.signal, ...guard }), timeout]);
    } catch (err) {
      return { ok: false, calls: [], summary: `${what} failed: ${describeError(err)}`, error: describeError(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  private async finish(
    record: ActionRecord,
    status: ActionStatus,
    result: { summary: string; error?: string; annotations?: Record<string, unknown> },
    event: string,
    channel: LogChannel | undefined,
    existing: StoredAction | undefined,
  ): Promise<ActionRecord> {
    record.status = status;
    record.summary = result.summary;
    if (result.error) record.error = result.error;
    record.updated_at = new Date(this.now()).toISOString();
    if (!(await this.store.putAction(record, existing))) {
      // Someone decided it meanwhile (e.g. rejected): theirs stands.
      return (await this.store.getAction(record.id))?.record ?? record;
    }
    await this.store.audit({ ...auditRef(record), event, reason: result.summary, actor: this.options.holder, detail: { level: record.level, approval: record.approval, calls: record.calls, undo: record.undo_hint, rule: record.alert.rule_id, score: record.alert.risk_score } });
    await this.note(record, result.summary, result.annotations);
    if (channel) await this.sendToChannel(channel, record);
    return record;
  }

  private async note(record: ActionRecord, message: string, annotations?: Record<string, unknown>): Promise<void> {
    try {
      await this.store.noteOnAlert(record.alert.id, { action_id: record.id, playbook: record.playbook, step: record.step, status: record.status, message }, annotations);
    } catch (err) {
      this.log.warn({ err, action: record.id }, 'could not note the action on the alert');
    }
  }

  /** Sends an action's outcome to the run's log channel (e.g. a TheHive case log). Failures are audited, never fatal. */
  private async sendToChannel(channel: LogChannel, record: ActionRecord): Promise<void> {
    const driver = actionDriver(channel.type);
    if (!driver) return;
    const message = `[nyx] ${record.playbook}/${record.step} (${record.type}, level ${record.level}): ${record.status} — ${record.summary ?? ''}`;
    let params: unknown;
    try {
      params = driver.parse({ ...channel.params, message });
    } catch (err) {
      this.log.warn({ err }, 'log channel params rejected');
      return;
    }
    const outcome = await this.callDriver(driver, (ctx) => driver.apply(ctx, params), `${channel.type} log`);
    if (!outcome.ok) await this.store.audit({ ...auditRef(record), event: 'log_channel_failed', reason: outcome.summary, actor: this.options.holder });
  }

  // ---- approvals, TTL release, undo ------------------------------------------------------------------------

  /** Approves (by a person) an action waiting for it; `nyx respond` then runs it. An expired one is dropped instead. */
  async approve(id: string, by: string): Promise<ActionRecord> {
    return this.decide(id, by, 'approved');
  }

  async reject(id: string, by: string): Promise<ActionRecord> {
    return this.decide(id, by, 'rejected');
  }

  private async decide(id: string, by: string, decision: 'approved' | 'rejected'): Promise<ActionRecord> {
    const stored = await this.store.getAction(id);
    if (!stored) throw new NyxError(`no action ${id} in namespace ${this.options.namespace}`);
    const { record } = stored;
    if (record.status !== 'awaiting_approval') throw new NyxError(`action ${id} is ${record.status}, not awaiting approval`);
    const at = new Date(this.now()).toISOString();
    if (record.approval?.expires_at && Date.parse(record.approval.expires_at) <= this.now()) {
      await this.expire(stored);
      throw new NyxError(`action ${id}: the approval expired at ${record.approval.expires_at}; the action was dropped`);
    }
    record.status = decision;
    record.approval = { ...(record.approval ?? { required: true }), by, decision, decided_at: at };
    record.updated_at = at;
    if (decision === 'rejected') record.summary = `rejected by ${by}`;
    if (!(await this.store.putAction(record, stored))) throw new NyxError(`action ${id} changed meanwhile; try again`);
    await this.store.audit({ ...auditRef(record), event: decision, reason: `${decision} by ${by}`, actor: by });
    await this.note(record, `${decision} by ${by}`);
    return record;
  }

  private async expire(stored: StoredAction): Promise<void> {
    const { record } = stored;
    record.status = 'expired';
    record.summary = `dropped: nobody approved it before ${record.approval?.expires_at}`;
    record.updated_at = new Date(this.now()).toISOString();
    if (!(await this.store.putAction(record, stored))) return;
    await this.store.audit({ ...auditRef(record), event: 'expired', reason: record.summary, actor: this.options.holder });
    await this.note(record, record.summary);
  }

  /** Drops approvals past their expiry and runs approved actions (continuing their playbooks). */
  async processApprovals(): Promise<{ expired: number; ran: number }> {
    const nowIso = new Date(this.now()).toISOString();
    let expired = 0;
    for (const rec of await this.store.listActions({ statuses: ['awaiting_approval'], approvalExpiresBefore: nowIso })) {
      const stored = await this.store.getAction(rec.id);
      if (stored?.record.status !== 'awaiting_approval') continue;
      await this.expire(stored);
      expired++;
    }
    let ran = 0;
    for (const rec of await this.store.listActions({ statuses: ['approved'] })) {
      const playbook = this.options.playbooks.find((p) => p.name === rec.playbook);
      const stored = await this.store.getAction(rec.id);
      if (!stored || stored.record.status !== 'approved') continue;
      if (!playbook) {
        stored.record.status = 'failed';
        stored.record.summary = `playbook ${rec.playbook} is no longer loaded`;
        if (await this.store.putAction(stored.record, stored)) await this.store.audit({ ...auditRef(stored.record), event: 'failed', reason: stored.record.summary, actor: this.options.holder });
        continue;
      }
      let alert: AlertDocument;
      try {
        alert = await this.readAlert(rec.alert.id);
      } catch (err) {
        this.log.warn({ err, action: rec.id }, 'approved action: alert unreadable');
        continue;
      }
      await this.runPlaybook(playbook, rec.alert.id, alert);
      ran++;
    }
    return { expired, ran };
  }

  /** Releases every applied action whose TTL has ended (blocks, isolations). */
  async reap(): Promise<ActionRecord[]> {
    const due = await this.store.listActions({ statuses: ['applied'], expiresBefore: new Date(this.now()).toISOString() });
    const released: ActionRecord[] = [];
    for (const rec of due) {
      const lease = `response-release:${this.options.namespace}:${rec.id}`;
      if (this.inFlight.has(lease)) continue;
      this.inFlight.add(lease);
      try {
        if (!(await this.leases.acquire(lease, this.options.config.lease_ms, this.now()))) continue;
        try {
          const done = await this.revert(rec.id, 'ttl', 'released');
          if (done?.status === 'released') released.push(done);
        } finally {
          await this.leases.release(lease).catch(() => undefined);
        }
      } finally {
        this.inFlight.delete(lease);
      }
    }
    return released;
  }

  /** Reverts an applied action by hand (`nyx actions undo`). */
  async undo(id: string, by: string): Promise<ActionRecord> {
    const stored = await this.store.getAction(id);
    if (!stored) throw new NyxError(`no action ${id} in namespace ${this.options.namespace}`);
    if (stored.record.status !== 'applied') throw new NyxError(`action ${id} is ${stored.record.status}: only an applied action can be undone`);
    const done = await this.revert(id, by, 'undone');
    if (!done) throw new NyxError(`action ${id} changed meanwhile; try again`);
    if (done.status !== 'undone') throw new NyxError(`action ${id}: undo failed: ${done.error ?? 'unknown error'}`);
    return done;
  }

  private async revert(id: string, by: string, status: 'released' | 'undone'): Promise<ActionRecord | undefined> {
    const stored = await this.store.getAction(id);
    if (!stored || stored.record.status !== 'applied') return undefined;
    const { record } = stored;
    const driver = actionDriver(record.type);
    const event = status === 'released' ? 'released' : 'undone';
    if (!driver) {
      await this.store.audit({ ...auditRef(record), event: `${event}_failed`, reason: `no driver registered for ${record.type}`, actor: by });
      record.error = `no driver registered for ${record.type}`;
      return record;
    }
    let params: unknown;
    try {
      params = driver.parse(record.params ?? {});
    } catch (err) {
      await this.store.audit({ ...auditRef(record), event: `${event}_failed`, reason: describeError(err), actor: by });
      record.error = describeError(err);
      return record;
    }
    const outcome = await this.callDriver(driver, (ctx) => driver.undo(ctx, params, record.undo ?? {}), `${record.type} undo`);
    if (!outcome.ok) {
      // Stays applied: the reaper tries again next tick, and the failure is on the trail.
      await this.store.audit({ ...auditRef(record), event: `${event}_failed`, reason: outcome.summary, actor: by, detail: { calls: outcome.calls } });
      record.error = outcome.error ?? outcome.summary;
      return record;
    }
    record.status = status;
    record.released_at = new Date(this.now()).toISOString();
    record.released_by = by;
    record.calls = [...record.calls, ...outcome.calls];
    record.summary = `${record.summary ?? ''}; ${status === 'released' ? 'released at TTL end' : `undone by ${by}`}: ${outcome.summary}`;
    record.updated_at = record.released_at;
    if (!(await this.store.putAction(record, stored))) return undefined;
    await this.store.audit({ ...auditRef(record), event, reason: outcome.summary, actor: by, detail: { calls: outcome.calls } });
    await this.note(record, `${event}: ${outcome.summary}`);
    return record;
  }

  /** Whether an action's effect is still in place, asked of its driver. */
  async status(id: string): Promise<{ record: ActionRecord; active?: boolean; detail?: string }> {
    const stored = await this.store.getAction(id);
    if (!stored) throw new NyxError(`no action ${id} in namespace ${this.options.namespace}`);
    const driver = actionDriver(stored.record.type);
    if (!driver || stored.record.status !== 'applied') return { record: stored.record };
    try {
      const params = driver.parse(stored.record.params ?? {});
      const s = await driver.status({ client: this.options.client, log: this.log }, params, stored.record.undo ?? {});
      return { record: stored.record, active: s.active, detail: s.detail };
    } catch (err) {
      return { record: stored.record, detail: `status unavailable: ${describeError(err)}` };
    }
  }
}

function isLogChannel(value: unknown): value is LogChannel {
  return !!value && typeof value === 'object' && typeof (value as LogChannel).type === 'string' && !!(value as LogChannel).params && typeof (value as LogChannel).params === 'object';
}

function auditRef(record: ActionRecord): { action_id: string; alert_id: string; playbook: string; step: string; type: string } {
  return { action_id: record.id, alert_id: record.alert.id, playbook: record.playbook, step: record.step, type: record.type };
}

function toReport(record: ActionRecord, status: StepReport['status']): StepReport {
  return { actionId: record.id, step: record.step, type: record.type, level: record.level, status, summary: record.summary ?? '', calls: record.calls };
}
