import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import { commandElastic, progress } from '../context.ts';
import { jsonForTerminal, printLine } from '../terminal.ts';

export function registerRiskCommands(program: Command): void {
  program
    .command('risk')
    .description('the riskiest hosts and users: decayed alert risk, raised when several domains hit one entity within minutes')
    .option('--entity <type>', 'host, user or all', 'all')
    .option('--since <age>', "alerts since this age or ISO time (default: the config's risk.window, 24h)")
    .option('--namespace <tenant>', 'only this namespace (nyx-alerts-<tenant>)')
    .option('--limit <n>', 'entities to list', '10')
    .option('--json', 'print one JSON object')
    .action(async (opts: { entity: string; since?: string; namespace?: string; limit: string; json?: boolean }, cmd: Command) => {
      if (!['host', 'user', 'all'].includes(opts.entity)) throw new NyxError(`--entity ${opts.entity}: expected host, user or all`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new NyxError(`--limit ${opts.limit}: expected a whole number from 1 to 1000`);
      const { entityRisk } = await import('../../detection/entity-risk/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const report = await entityRisk(ctx.client, { entity: opts.entity as 'host' | 'user' | 'all', since: opts.since, namespace: opts.namespace, limit }, loaded.config.risk);
      if (opts.json) return console.log(jsonForTerminal(report));
      progress(`${report.alertsRead} alerts since ${report.since}${report.truncated ? ' (more in the window than risk.max_alerts; the oldest were not read)' : ''}`);
      if (report.entities.length === 0) return printLine('no alerts name a host or user in the window');
      report.entities.forEach((e, n) => {
        const burst = e.burst && e.multiplier > 1 ? `  ×${e.multiplier} (${e.burst.domains.join(', ')} within ${e.burst.start.slice(11, 19)}–${e.burst.end.slice(11, 19)})` : '';
        const tenant = e.namespace && !opts.namespace ? ` (${e.namespace})` : '';
        printLine(`${String(n + 1).padStart(2)}. ${e.type} ${e.name}${tenant}  risk ${e.score}  (${e.alerts} alerts, base ${e.base})${burst}`);
        for (const c of e.contributing) printLine(`      ${c.at}  ${c.weight.toFixed(1).padStart(6)}  ${c.rule}  [${c.domains.join(', ') || '-'}]  ${c.status}`);
      });
    });
}
