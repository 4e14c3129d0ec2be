import type { Command } from 'commander';
import type { HostExposure } from '../../vulns/index.ts';
import { commandElastic } from '../context.ts';
import { formatTable, jsonForTerminal, printLine } from '../terminal.ts';


function ports(h: HostExposure): string {
  const list = [...new Set(h.listening.map((s) => `${s.port}/${s.transport ?? '?'}`))];
  return list.length ? list.slice(0, 6).join(', ') + (list.length > 6 ? `, +${list.length - 6}` : '') : '-';
}

export function registerVulnsCommand(program: Command): void {
  program
    .command('vulns')
    .description('vulnerability exposure: installed software matched to CVEs per host, with a remediation backlog (known-exploited first, then CVSS, then exposure)')
    .option('--host <host>', 'one host (host.name) only')
    .option('--limit <n>', 'backlog rows per host in the table', '20')
    .option('--json', 'print the report as one JSON object')
    .action(async (opts: { host?: string; json?: boolean; limit: string }, cmd: Command) => {
      const { vulnerabilityReport } = await import('../../vulns/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const { config } = loaded;
      const report = await vulnerabilityReport(ctx.client, config.namespace, {
        ...(opts.host ? { host: opts.host } : {}),
        inventoryMaxAgeDays: config.vulns.inventory_max_age_days,
        exposureDays: config.vulns.exposure_days,
      });
      await ctx.client.close();
      if (opts.json) return console.log(jsonForTerminal(report));
      if (report.hosts.length === 0) {
        return printLine(opts.host ? `no software inventory for host ${opts.host} (namespace ${config.namespace})` : `no software inventory in namespace ${config.namespace}`);
      }
      console.log(formatTable([['HOST', 'SCORE', 'PACKAGES', 'VULNERABLE', 'CVES', 'KEV', 'LISTENING'], ...report.hosts.map((h) => [h.host, h.vulnerability_score.toFixed(1), String(h.packages_installed), String(h.vulnerable_packages.length), String(h.backlog.length), String(h.backlog.filter((b) => b.known_exploited).length), ports(h)])]));
      const limit = Math.max(1, Number(opts.limit) || 20);
      for (const h of report.hosts) {
        if (!h.backlog.length) continue;
        console.log('');
        printLine(`${h.host}: remediation backlog (known-exploited first, then CVSS, then exposure)`);
        console.log(
          formatTable([
            ['#', 'CVE', 'PACKAGE', 'VERSION', 'CVSS', 'KEV', 'PORTS', 'FIXED IN'],
            ...h.backlog.slice(0, limit).map((b, i) => [String(i + 1), b.cve, b.package, b.version, b.cvss === null ? '-' : b.cvss.toFixed(1), b.known_exploited ? (b.kev_due_date ? `yes (due ${b.kev_due_date.slice(0, 10)})` : 'yes') : 'no', b.listening_ports.join(',') || '-', b.fixed_in ?? '-']),
          ]),
        );
        if (h.backlog.length > limit) printLine(`… ${h.backlog.length - limit} more (--limit, or --json for all)`);
      }
    });
}
