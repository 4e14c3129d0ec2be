import type { Command } from 'commander';
import { userInfo } from 'node:os';
import type { AlertStatus, CloseReason, StoredAlert } from '../../alerts/index.ts';
import { ALERT_STATUSES, CLOSE_REASONS } from '../../alerts/schema.ts';
import { NyxError } from '../../errors.ts';
import { commandElastic } from '../context.ts';
import { jsonForTerminal, printLine } from '../terminal.ts';

function actor(by: string | undefined): string {
  return by ?? process.env.NYX_USER ?? userInfo().username;
}

function pad(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

function row(a: StoredAlert): string {
  const x = a.alert;
  return [pad(a.id, 32), pad(x['@timestamp'].slice(0, 19).replace('T', ' '), 19), pad(x.nyx.alert.status, 12), String(x.event.severity).padStart(3), String(x.event.risk_score).padStart(4), pad(`${x.nyx.alert.entity_type}:${x.nyx.alert.entity}`, 22), x.rule.name].join('  ');
}

function describe(a: StoredAlert): string[] {
  const x = a.alert;
  const n = x.nyx.alert;
  const signals = n.signals as { band?: string; signals?: Array<{ name: string; contribution: number }>; context?: Array<{ name: string; multiplier: number }>; trust_offsets?: Array<{ name: string; offset: number }> } | undefined;
  const lines = [
    `alert     ${a.id} (${a.index})`,
    `rule      ${x.rule.name} [${x.rule.id}]`,
    `status    ${n.status}${n.status_reason ? ` (${n.status_reason})` : ''}${(n as Record<string, unknown>).status_changed_by ? ` by ${String((n as Record<string, unknown>).status_changed_by)} at ${String((n as Record<string, unknown>).status_changed_at)}` : ''}`,
    `when      ${x['@timestamp']} (activity at ${String((n as Record<string, unknown>).first_seen ?? n.bucket_start)}, window from ${n.bucket_start})`,
    `entity    ${n.entity_type} ${n.entity}`,
    `severity  ${x.event.severity}   risk ${x.event.risk_score} (${signals?.band ?? '?'})`,
    `reason    ${n.reason}`,
  ];
  if (x.threat) lines.push(`mitre     ${[...(x.threat.tactic?.id ?? []).map((id, i) => `${id} ${x.threat?.tactic?.name?.[i] ?? ''}`), ...(x.threat.technique?.id ?? []).map((id, i) => `${id} ${x.threat?.technique?.name?.[i] ?? ''}`)].join('; ')}`);
  for (const s of signals?.signals ?? []) lines.push(`signal    ${s.name} +${s.contribution}`);
  for (const c of signals?.context ?? []) lines.push(`context   ${c.name} ×${c.multiplier}`);
  for (const t of signals?.trust_offsets ?? []) lines.push(`trust     ${t.name} −${t.offset}`);
  lines.push(`evidence  ${n.evidence.indices.join(', ')} events ${n.evidence.event_ids.join(', ') || '(ids not known)'}`);
  for (const [k, v] of Object.entries(n.evidence.fields ?? {})) lines.push(`          ${k}: ${JSON.stringify(v)}`);
  return lines;
}

function parseStatus(s: string | undefined): AlertStatus | undefined {
  if (s === undefined) return undefined;
  if (!(ALERT_STATUSES as readonly string[]).includes(s)) throw new NyxError(`--status ${s}: expected one of ${ALERT_STATUSES.join(', ')}`);
  return s as AlertStatus;
}

export function registerAlertsCommands(program: Command): void {
  const alerts = program.command('alerts').description('detection alerts: list, show, acknowledge, close');

  alerts
    .command('list')
    .description('newest alerts first')
    .option('--status <status>', `only alerts in this status (${ALERT_STATUSES.join('|')})`)
    .option('--rule <id>', 'only alerts of this rule id')
    .option('--since <time>', 'only alerts since an ISO time or an age (30m, 24h, 7d)')
    .option('--namespace <ns>', 'only this namespace (default: all)')
    .option('--limit <n>', 'at most this many (default 50, max 1000)', '50')
    .option('--json', 'one JSON object per line: {id, index, alert}')
    .action(async (opts: { status?: string; rule?: string; since?: string; namespace?: string; limit: string; json?: boolean }, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new NyxError(`--limit ${opts.limit}: expected 1-1000`);
      const { listAlerts } = await import('../../alerts/index.ts');
      const { ctx } = await commandElastic(cmd);
      try {
        const found = await listAlerts(ctx.client, { status: parseStatus(opts.status), ruleId: opts.rule, since: opts.since, namespace: opts.namespace, size: limit });
        if (opts.json) for (const a of found) console.log(jsonForTerminal(a));
        else {
          printLine(['ID'.padEnd(32), 'CREATED (UTC)'.padEnd(19), 'STATUS'.padEnd(12), 'SEV', 'RISK', 'ENTITY'.padEnd(22), 'RULE'].join('  '));
          for (const a of found) printLine(row(a));
          printLine(`${found.length} alerts`);
        }
      } finally {
        await ctx.client.close();
      }
    });

  alerts
    .command('show <id>')
    .description('one alert: reason, MITRE, score and the signals behind it, evidence, workflow')
    .option('--json', 'the stored document as JSON')
    .option('--namespace <ns>', 'the namespace the alert is in (needed when the id exists in several)')
    .action(async (id: string, opts: { json?: boolean; namespace?: string }, cmd: Command) => {
      const { getAlert } = await import('../../alerts/index.ts');
      const { ctx } = await commandElastic(cmd);
      try {
        const a = await getAlert(ctx.client, id, opts.namespace);
        if (opts.json) console.log(jsonForTerminal(a));
        else for (const line of describe(a)) printLine(line);
      } finally {
        await ctx.client.close();
      }
    });

  const step = async (cmd: Command, id: string, to: 'acknowledged' | 'closed', opts: { by?: string; reason?: string; comment?: string; namespace?: string }): Promise<void> => {
    const { transitionAlert } = await import('../../alerts/index.ts');
    const { ctx } = await commandElastic(cmd);
    try {
      const a = await transitionAlert(ctx.client, id, { to, by: actor(opts.by), reason: opts.reason as CloseReason | undefined, comment: opts.comment }, opts.namespace);
      printLine(`${a.id} ${a.alert.nyx.alert.status}${a.alert.nyx.alert.status_reason ? ` (${a.alert.nyx.alert.status_reason})` : ''} by ${actor(opts.by)}`);
    } finally {
      await ctx.client.close();
    }
  };

  alerts
    .command('ack <id>')
    .description('acknowledge an open alert (someone is on it)')
    .option('--by <name>', 'who (default NYX_USER or the login name)')
    .option('--comment <text>', 'a note kept in the alert history')
    .option('--namespace <ns>', 'the namespace the alert is in (needed when the id exists in several)')
    .action((id: string, opts: { by?: string; comment?: string; namespace?: string }, cmd: Command) => step(cmd, id, 'acknowledged', opts));

  alerts
    .command('close <id>')
    .description('close an alert with a reason')
    .requiredOption('--reason <reason>', CLOSE_REASONS.join('|'))
    .option('--by <name>', 'who (default NYX_USER or the login name)')
    .option('--comment <text>', 'a note kept in the alert history')
    .option('--namespace <ns>', 'the namespace the alert is in (needed when the id exists in several)')
    .action((id: string, opts: { by?: string; reason: string; comment?: string; namespace?: string }, cmd: Command) => step(cmd, id, 'closed', opts));
}
