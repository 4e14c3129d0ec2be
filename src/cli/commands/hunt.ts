import type { Command } from 'commander';
import type { Facet, HuntQuery, PivotReport } from '../../detection/hunt/index.ts';
import { commandElastic, progress } from '../context.ts';
import { formatTable, jsonForTerminal, printLine } from '../terminal.ts';


interface HuntOptions {
  from?: string;
  to?: string;
  since?: string;
  ip?: string;
  user?: string;
  host?: string;
  severity?: string;
  category?: string;
  namespace?: string;
  size?: string;
  json?: boolean;
}

function sizeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error(`--size ${text}: expected a whole number from 1 to 10000`);
  return n;
}

function facetLine(name: string, facets: Facet[]): string {
  return `${name.padEnd(14)}${facets.length ? facets.map((f) => `${f.value} (${f.count})`).join(', ') : '-'}`;
}

function printPivot(r: PivotReport): void {
  printLine(`${r.entity.type} ${r.entity.value}: ${r.events} events between ${r.from} and ${r.to}`);
  printLine(`${'first seen'.padEnd(14)}${r.firstSeen ?? '-'}`);
  printLine(`${'last seen'.padEnd(14)}${r.lastSeen ?? '-'}`);
  printLine(facetLine('hosts', r.hosts));
  printLine(facetLine('users', r.users));
  printLine(facetLine('sources', r.sourceIps));
  printLine(facetLine('destinations', r.destinations));
  printLine(facetLine('dest. ports', r.destinationPorts));
  printLine(facetLine('categories', r.categories));
  printLine(facetLine('actions', r.actions));
  printLine(facetLine('outcomes', r.outcomes));
  printLine(facetLine('datasets', r.datasets));
  printLine(`${'alerts'.padEnd(14)}${r.alerts.total}`);
  if (r.alerts.items.length) {
    console.log(formatTable([['  AT', 'RULE', 'RISK', 'STATUS', 'ENTITY'], ...r.alerts.items.map((a) => [`  ${a.at}`, a.rule, String(a.riskScore), a.status, a.entity])]));
  }
}

export function registerHuntCommands(program: Command): void {
  const huntCmd = program
    .command('hunt')
    .description('search the logs-* data streams: time range, ip, user, host, severity, category, free text; `hunt pivot` for one entity')
    .argument('[text...]', 'free text (simple_query_string: words AND-ed, "phrases", -exclude, prefix*)')
    .option('--from <time>', 'start: ISO time or an age such as 2h')
    .option('--to <time>', 'end: ISO time, an age, or now (default now)')
    .option('--since <age>', 'same as --from <age> (default 24h)')
    .option('--ip <ip|cidr>', 'source, destination, host, client or server address')
    .option('--user <name>', 'user.name (or target/effective user), case-insensitive')
    .option('--host <name>', 'host.name or host.hostname, case-insensitive')
    .option('--severity <n|level>', 'minimum event.severity: a number or low, medium, high, critical')
    .option('--category <name>', 'event.category, e.g. authentication, process, network')
    .option('--namespace <tenant>', 'only this namespace (logs-*-<tenant>)')
    .option('--size <n>', 'events to show (default 50)')
    .option('--json', 'print one JSON object')
    .action(async (words: string[], opts: HuntOptions, cmd: Command) => {
      const q: HuntQuery = {
        ...(opts.from ? { from: opts.from } : {}),
        ...(opts.to ? { to: opts.to } : {}),
        ...(opts.since ? { since: opts.since } : {}),
        ...(opts.ip ? { ip: opts.ip } : {}),
        ...(opts.user ? { user: opts.user } : {}),
        ...(opts.host ? { host: opts.host } : {}),
        ...(opts.severity ? { severity: opts.severity } : {}),
        ...(opts.category ? { category: opts.category } : {}),
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
        ...(words.length ? { text: words.join(' ') } : {}),
        ...(opts.size ? { size: sizeOf(opts.size)! } : {}),
      };
      const { hunt } = await import('../../detection/hunt/index.ts');
      const { ctx } = await commandElastic(cmd);
      const r = await hunt(ctx.client, q);
      if (opts.json) return console.log(jsonForTerminal(r));
      progress(`${r.total} events in ${r.index} between ${r.from} and ${r.to}${r.total > r.events.length ? ` (showing ${r.events.length})` : ''}`);
      if (r.events.length === 0) return printLine('no events');
      console.log(
        formatTable([
          ['TIME', 'DATASET', 'CATEGORY', 'ACTION', 'OUTCOME', 'HOST', 'USER', 'SOURCE', 'DESTINATION', 'SUMMARY'],
          ...r.events.map((e) => [e.timestamp, e.dataset ?? '-', e.category ?? '-', e.action ?? '-', e.outcome ?? '-', e.host ?? '-', e.user ?? '-', e.sourceIp ?? '-', e.destinationIp ? `${e.destinationIp}${e.destinationPort !== undefined ? `:${e.destinationPort}` : ''}` : '-', e.summary]),
        ]),
      );
    });

  huntCmd
    .command('pivot')
    .description('everything about one IP or user: first/last seen, hosts, users, peers, ports, categories, alerts')
    .option('--ip <ip|cidr>', 'the address to pivot on')
    .option('--user <name>', 'the user to pivot on')
    .option('--from <time>', 'start: ISO time or an age (default 7d)')
    .option('--to <time>', 'end (default now)')
    .option('--since <age>', 'same as --from <age>')
    .option('--namespace <tenant>', 'only this namespace')
    .option('--json', 'print one JSON object')
    .action(async (_opts: unknown, cmd: Command) => {
      // `hunt` has the same option names: whichever command commander gave them to, they count.
      const opts = cmd.optsWithGlobals() as { ip?: string; user?: string; from?: string; to?: string; since?: string; namespace?: string; json?: boolean };
      const { pivot } = await import('../../detection/hunt/index.ts');
      const { ctx } = await commandElastic(cmd);
      const r = await pivot(ctx.client, opts);
      if (opts.json) return console.log(jsonForTerminal(r));
      printPivot(r);
    });
}
