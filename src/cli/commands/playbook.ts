import type { Command } from 'commander';
import type { PlaybookRun } from '../../response/engine.ts';
import { commandConfig, commandElastic } from '../context.ts';
import { jsonForTerminal, printLine } from '../terminal.ts';

/** Prints a run (or dry run): every step, its status and every call made or that would be made. */
export function printRun(run: PlaybookRun): void {
  printLine(`playbook ${run.playbook} on alert ${run.alertId}`);
  for (const s of run.steps) {
    printLine(`  ${s.step} (${s.type}, ${s.level}) → ${s.status} [action ${s.actionId}]`);
    if (s.summary) printLine(`    ${s.summary}`);
    for (const c of s.calls) {
      printLine(`    call: ${c.description}${c.status !== undefined ? ` → ${String(c.status)}` : ''}`);
      if (c.request !== undefined) printLine(`      ${JSON.stringify(c.request).slice(0, 400)}`);
    }
  }
  if (run.halted) printLine(`  halted: ${run.halted}`);
}

export function registerPlaybookCommands(program: Command): void {
  const playbook = program.command('playbook').description('response playbooks (YAML under playbooks/): list, validate, run one by hand');

  playbook
    .command('list')
    .description('playbooks: name, level, trigger, steps (and any step type no driver is registered for)')
    .option('--dir <dir>', 'playbooks folder (default response.playbooks_dir or the shipped playbooks/)')
    .action(async (opts: { dir?: string }, cmd: Command) => {
      const { actionDriverTypes } = await import('../../response/drivers/index.ts');
      const { loadPlaybooks } = await import('../../response/playbook.ts');
      const { registerBuiltinDrivers } = await import('../../response/builtin.ts');
      const { config } = commandConfig(cmd);
      registerBuiltinDrivers(config.response);
      const known = new Set(actionDriverTypes());
      const dir = opts.dir ?? config.response.playbooks_dir;
      for (const p of loadPlaybooks(...(dir ? [dir] : []))) {
        printLine(`${p.name}  level=${p.level}${p.enabled ? '' : '  (disabled)'}  ${p.description ?? ''}`);
        for (const s of p.steps) printLine(`  - ${s.id}: ${s.type}${s.ttl ? ` ttl=${s.ttl}s` : ''} on_error=${s.on_error}${known.has(s.type) ? '' : '  (no driver registered: will be refused and audited)'}`);
      }
    });

  playbook
    .command('validate [dir]')
    .description('validate every playbook in a folder; one line per error naming the file and field')
    .action(async (dir: string | undefined, _opts, cmd: Command) => {
      const { loadPlaybooks } = await import('../../response/playbook.ts');
      const { config } = commandConfig(cmd);
      const folder = dir ?? config.response.playbooks_dir;
      const list = loadPlaybooks(...(folder ? [folder] : []));
      printLine(`${list.length} playbooks valid`);
    });

  playbook
    .command('run <name>')
    .description('run one playbook on one alert by hand (through the same guardrails, approvals and audit)')
    .requiredOption('--alert <id>', 'the alert id in nyx-alerts-<namespace>')
    .option('--dry-run', 'show every call it would make, change nothing')
    .option('--json', 'print the run as JSON')
    .action(async (name: string, opts: { alert: string; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const { createResponseEngine } = await import('../../response/worker.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const engine = createResponseEngine(ctx, loaded, { refresh: 'wait_for' });
      const pb = engine.playbook(name);
      const alert = await engine.readAlert(opts.alert);
      const run = opts.dryRun ? await engine.dryRun(pb, opts.alert, alert) : await engine.runPlaybook(pb, opts.alert, alert);
      if (opts.json) console.log(jsonForTerminal(run));
      else {
        if (opts.dryRun) printLine('dry run: nothing was changed');
        printRun(run);
      }
      await ctx.client.close();
    });
}
