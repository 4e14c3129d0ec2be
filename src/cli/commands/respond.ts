import type { Command } from 'commander';
import { commandElastic, progress, untilStopSignal } from '../context.ts';
import { printLine } from '../terminal.ts';
import { registerActionsCommands } from './actions.ts';
import { registerPlaybookCommands } from './playbook.ts';

/** `nyx respond`, `nyx playbook …` and `nyx actions …`: the response worker and its operator commands. */
export function registerResponseCommands(program: Command): void {
  program
    .command('respond')
    .description('run playbooks on new alerts (guardrails, approvals, TTL releases); replicas share work through leases; Ctrl-C stops')
    .option('--once', 'one pass (new alerts, approvals, releases), print what it did, exit')
    .action(async (opts: { once?: boolean }, cmd: Command) => {
      const { createResponseEngine, createResponseWorker } = await import('../../response/worker.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const engine = createResponseEngine(ctx, loaded);
      const worker = createResponseWorker(ctx, loaded, engine);
      if (opts.once) {
        const r = await worker.tick();
        printLine(`alerts read: ${r.alerts}, playbook runs: ${r.runs.length}, actions: ${r.runs.flatMap((x) => x.steps).filter((s) => s.status !== 'already_done').length}, approvals run: ${r.approvedRan}, approvals expired: ${r.expired}, released: ${r.released}`);
        for (const run of r.runs) for (const s of run.steps) if (s.status !== 'already_done') printLine(`  ${run.alertId} ${run.playbook}/${s.step} ${s.type} → ${s.status}: ${s.summary}`);
        await ctx.client.close();
        return;
      }
      progress(`Elasticsearch: ${ctx.target}`);
      printLine(`responding to alerts in nyx-alerts-${loaded.config.namespace}: ${engine.playbooks.length} playbooks, unattended up to ${loaded.config.response.unattended_level}`);
      worker.start();
      await untilStopSignal();
      progress('stopping…');
      await worker.stop();
      await ctx.client.close();
    });
  registerPlaybookCommands(program);
  registerActionsCommands(program);
}
