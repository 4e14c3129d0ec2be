import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import { ACTION_STATUSES, type ActionStatus } from '../../response/action-statuses.ts';
import { commandElastic } from '../context.ts';
import { formatTable, jsonForTerminal, printLine } from '../terminal.ts';


function operator(by?: string): string {
  if (by) return by;
  try {
    return process.env.USER ?? userInfo().username;
  } catch {
    return 'operator';
  }
}

export function registerActionsCommands(program: Command): void {
  const actions = program.command('actions').description('response actions: list, show, undo, approve, reject');

  actions
    .command('list')
    .description('actions, newest first: id, status, playbook/step, type, level, target, alert, expiry')
    .option('--status <status>', `only this status (${ACTION_STATUSES.join(', ')})`)
    .option('--alert <id>', 'only actions on this alert')
    .option('--json', 'print one JSON array')
    .action(async (opts: { status?: string; alert?: string; json?: boolean }, cmd: Command) => {
      if (opts.status && !ACTION_STATUSES.includes(opts.status as ActionStatus)) throw new NyxError(`--status ${opts.status}: expected one of ${ACTION_STATUSES.join(', ')}`);
      const { createResponseEngine } = await import('../../response/worker.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const engine = createResponseEngine(ctx, loaded);
      const list = await engine.store.listActions({ ...(opts.status ? { statuses: [opts.status as ActionStatus] } : {}), ...(opts.alert ? { alertId: opts.alert } : {}) });
      await ctx.client.close();
      if (opts.json) return console.log(jsonForTerminal(list));
      if (!list.length) return printLine('no actions');
      console.log(
        formatTable([
          ['ACTION', 'STATUS', 'PLAYBOOK/STEP', 'TYPE', 'LEVEL', 'TARGET', 'ALERT', 'EXPIRES'],
          ...list.map((a) => [a.id, a.status, `${a.playbook}/${a.step}`, a.type, a.level, a.target?.value ?? '-', a.alert.id, a.expires_at ?? a.approval?.expires_at ?? '-']),
        ]),
      );
    });

  actions
    .command('show <id>')
    .description('one action: why, who approved, every call and result, how to undo, its audit trail, whether still in effect')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { createResponseEngine } = await import('../../response/worker.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const engine = createResponseEngine(ctx, loaded);
      const { record, active, detail } = await engine.status(id);
      const trail = await engine.store.auditTrail(id);
      await ctx.client.close();
      if (opts.json) return console.log(jsonForTerminal({ record, active, detail, audit: trail }));
      printLine(`action ${record.id}: ${record.status}`);
      printLine(`  alert ${record.alert.id} rule ${record.alert.rule_id} (${record.alert.rule_name}) severity ${record.alert.severity} score ${record.alert.risk_score}`);
      printLine(`  playbook ${record.playbook} step ${record.step} type ${record.type} level ${record.level}`);
      if (record.target) printLine(`  target ${record.target.kind} ${record.target.value}`);
      if (record.approval) printLine(`  approval: ${record.approval.required ? 'required' : 'not required'}${record.approval.decision ? `, ${record.approval.decision}` : ''}${record.approval.by ? ` by ${record.approval.by}` : ''}${record.approval.expires_at ? `, expires ${record.approval.expires_at}` : ''}`);
      if (record.summary) printLine(`  ${record.summary}`);
      for (const c of record.calls) printLine(`  call: ${c.description}${c.status !== undefined ? ` → ${String(c.status)}` : ''}`);
      if (record.expires_at) printLine(`  TTL ends ${record.expires_at}`);
      if (record.undo_hint) printLine(`  undo: ${record.undo_hint}`);
      if (active !== undefined || detail) printLine(`  in effect: ${active === undefined ? '?' : active ? 'yes' : 'no'}${detail ? ` (${detail})` : ''}`);
      for (const e of trail) printLine(`  ${e['@timestamp']} ${e.event} by ${e.actor}${e.reason ? `: ${e.reason}` : ''}`);
    });

  actions
    .command('undo <id>')
    .description('revert an applied action now (unblock, release, unlock)')
    .option('--by <name>', 'who (default: $USER)')
    .action(async (id: string, opts: { by?: string }, cmd: Command) => {
      const { createResponseEngine } = await import('../../response/worker.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const rec = await createResponseEngine(ctx, loaded, { refresh: 'wait_for' }).undo(id, operator(opts.by));
      await ctx.client.close();
      printLine(`undone ${rec.id}: ${rec.summary ?? ''}`);
    });

  for (const decision of ['approve', 'reject'] as const) {
    actions
      .command(`${decision} <id>`)
      .description(decision === 'approve' ? 'approve an action waiting for it; `nyx respond` runs it on its next pass' : 'reject an action waiting for approval: it never runs')
      .option('--by <name>', 'who (default: $USER)')
      .action(async (id: string, opts: { by?: string }, cmd: Command) => {
        const { createResponseEngine } = await import('../../response/worker.ts');
        const { loaded, ctx } = await commandElastic(cmd);
        const engine = createResponseEngine(ctx, loaded, { refresh: 'wait_for' });
        const rec = decision === 'approve' ? await engine.approve(id, operator(opts.by)) : await engine.reject(id, operator(opts.by));
        await ctx.client.close();
        printLine(`${rec.status} ${rec.id} (${rec.playbook}/${rec.step}, ${rec.type}) by ${rec.approval?.by ?? '?'}`);
      });
  }
}
