import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import { commandElastic, progress } from '../context.ts';
import { jsonForTerminal, printLine } from '../terminal.ts';

export function registerIntelCommands(program: Command): void {
  const intel = program.command('intel').description('the indicator store: import analysts\' lists, look values up');

  intel
    .command('import <file>')
    .description('import an analyst list: JSON array or CSV with columns type, value, source, confidence (tlp, description optional)')
    .requiredOption('--format <format>', 'json or csv')
    .option('--feed <name>', 'store under this feed name (default analyst)')
    .option('--confidence <n>', 'confidence for rows without one (default 70)')
    .option('--expiry-days <n>', 'days until the rows expire (default 90)')
    .action(async (file: string, opts: { format: string; feed?: string; confidence?: string; expiryDays?: string }, cmd: Command) => {
      if (opts.format !== 'json' && opts.format !== 'csv') throw new NyxError(`--format ${opts.format}: expected json or csv`);
      const { describeRun, feedRuntime, importIndicators } = await import('../../intel/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const r = await importIndicators(feedRuntime(ctx, loaded, progress), file, {
        format: opts.format,
        ...(opts.feed ? { feed: opts.feed } : {}),
        ...(opts.confidence ? { confidence: Number(opts.confidence) } : {}),
        ...(opts.expiryDays ? { expiryDays: Number(opts.expiryDays) } : {}),
      });
      await ctx.client.close();
      printLine(`${file}: ${describeRun(r)}`);
      if (r.result !== 'ok') process.exitCode = 1;
    });

  intel
    .command('lookup <value>')
    .description('the merged indicator for a value (IP, CIDR, domain, URL, hash, email) or a CVE id')
    .option('--json', 'print the document as JSON')
    .action(async (value: string, opts: { json?: boolean }, cmd: Command) => {
      const { CveStore, IndicatorStore, loadWarningLists, normalizeIndicator } = await import('../../intel/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      if (/^CVE-\d{4}-\d{4,}$/i.test(value)) {
        const cve = await new CveStore(ctx.client).get(value.toUpperCase());
        await ctx.client.close();
        if (!cve) throw new NyxError(`${value}: not in the CVE store`);
        if (opts.json) console.log(jsonForTerminal(cve));
        else printLine(`${cve.id} score ${cve.score ?? '-'} ${cve.cwe?.join(',') ?? ''}${cve.kev ? ` KEV since ${cve.kev.dateAdded}${cve.kev.knownRansomware ? ' (ransomware)' : ''}` : ''}: ${(cve.description ?? '').slice(0, 160)}`);
        return;
      }
      const intelCfg = loaded.config.intel;
      const n = normalizeIndicator({ value }, { feed: 'lookup', provider: 'lookup', confidence: 0, tlp: 'CLEAR', expiryDays: 1, allowTlpRed: true }, loadWarningLists('/nonexistent', { addresses: [], domains: [] }));
      if (!n.ok) throw new NyxError(`${value}: ${n.reason}`);
      const doc = await new IndicatorStore(ctx.client, loaded.config.namespace).get(`${n.indicator.type}:${n.indicator.value}`);
      await ctx.client.close();
      if (!doc) {
        const listed = loadWarningLists(intelCfg.feeds_dir, { addresses: intelCfg.own_addresses, domains: intelCfg.own_domains });
        const why = n.indicator.type.startsWith('ipv') ? listed.ipListed(n.indicator.value) : listed.domainListed(n.indicator.value);
        printLine(`${n.indicator.type}:${n.indicator.value}: not an indicator${why ? ` (on warning list ${why})` : ''}`);
        process.exitCode = 1;
        return;
      }
      const i = doc.nyx.indicator;
      if (opts.json) console.log(jsonForTerminal(doc));
      else printLine(
        `${i.key} ${i.active ? 'ACTIVE' : i.revoked ? 'revoked' : 'expired'} confidence ${i.confidence_score} (${doc.threat.indicator.confidence}) providers ${i.providers.join(', ')} first ${doc.threat.indicator.first_seen} last ${doc.threat.indicator.last_seen} expires ${i.expires_at}`,
      );
    });
}
