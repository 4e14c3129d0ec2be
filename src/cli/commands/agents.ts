import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import { commandElastic, progress } from '../context.ts';
import { jsonForTerminal, printLine, printTable } from '../terminal.ts';

export function registerAgentsCommands(program: Command): void {
  const agents = program.command('agents').description('enrolled agents and their enrollment tokens');

  agents
    .command('list')
    .description('agents: hostname, OS, IP, version, namespace, enrolled and last seen, status (online, stale, revoked)')
    .option('--json', 'print one JSON array')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { createAgentRegistry } = await import('../../agents/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const list = await createAgentRegistry(ctx.client, loaded.config).listAgents();
      if (opts.json) return console.log(jsonForTerminal(list));
      if (list.length === 0) return console.log('no agents enrolled');
      // Hostname, OS, IP and version are what the agent said about itself: printTable escapes them.
      printTable([
        ['AGENT', 'HOSTNAME', 'OS', 'IP', 'VERSION', 'NAMESPACE', 'ENROLLED', 'LAST SEEN', 'STATUS'],
        ...list.map((a) => [a.agent_id, a.hostname, a.os, a.ip, a.version, a.namespace, a.enrolled_at, a.last_seen ?? '-', a.status]),
      ]);
    });

  agents
    .command('revoke <agent-id>')
    .description('revoke an agent: its key stops working (within serve.auth_cache_ms on running servers); an id starting with "-" (an older one) goes after --')
    .action(async (agentId: string, _opts, cmd: Command) => {
      const { createAgentRegistry } = await import('../../agents/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      if (!(await createAgentRegistry(ctx.client, loaded.config).revokeAgent(agentId))) throw new NyxError(`no agent ${agentId}`);
      printLine(`revoked agent ${agentId}`);
    });

  agents
    .command('downloads')
    .description('agent bundle downloads (newest first): when, operator, client IP, platform, namespace, token id, file SHA-256')
    .option('--namespace <tenant>', 'only this tenant\'s downloads')
    .option('--json', 'print one JSON array')
    .action(async (opts: { namespace?: string; json?: boolean }, cmd: Command) => {
      if (opts.namespace !== undefined && !/^[a-z0-9_]{1,100}$/.test(opts.namespace)) throw new NyxError('--namespace: expected lowercase letters, digits and _');
      const { AgentDownloads } = await import('../../agents/index.ts');
      const { ctx } = await commandElastic(cmd);
      const list = await new AgentDownloads(ctx.client).list(opts.namespace ? { namespace: opts.namespace } : {});
      if (opts.json) return console.log(jsonForTerminal(list));
      if (list.length === 0) return console.log('no agent downloads recorded');
      printTable([
        ['WHEN', 'OPERATOR', 'CLIENT IP', 'PLATFORM', 'NAMESPACE', 'TOKEN', 'FILE', 'SHA-256'],
        ...list.map((d) => [d['@timestamp'], d.operator.name ?? d.operator.credential, d.client.ip, d.platform, d.namespace, d.token_id, d.file.name, d.file.sha256]),
      ]);
    });

  const token = agents.command('token').description('enrollment tokens: one tenant (namespace) each, expiring');

  token
    .command('create')
    .description('create an enrollment token for a namespace; prints the token (shown once)')
    .requiredOption('--namespace <tenant>', 'the tenant whose data streams the enrolled agents write to')
    .option('--ttl <duration>', 'lifetime such as 30m, 24h, 7d (at most 30d)', '24h')
    .option('--max-uses <n>', 'how many agents may enroll with it (default 1)', '1')
    .option('--description <text>', 'a note shown in `nyx agents token list`')
    .action(async (opts: { namespace: string; ttl: string; maxUses: string; description?: string }, cmd: Command) => {
      const { createAgentRegistry, parseTtl, parseMaxUses } = await import('../../agents/index.ts');
      const ttlMs = parseTtl(opts.ttl);
      const maxUses = parseMaxUses(opts.maxUses);
      const { loaded, ctx } = await commandElastic(cmd);
      const created = await createAgentRegistry(ctx.client, loaded.config).createToken({ namespace: opts.namespace, ttlMs, maxUses, ...(opts.description ? { description: opts.description } : {}) });
      progress(`enrollment token ${created.record.token_id} for namespace ${created.record.namespace}, ${maxUses === 1 ? 'one enrollment' : `${maxUses} enrollments`}, expires ${created.record.expires_at}`);
      console.log(created.token);
    });

  token
    .command('list')
    .description('enrollment tokens (never the secrets): id, namespace, created, expires, uses made of allowed, status')
    .option('--json', 'print one JSON array')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { createAgentRegistry } = await import('../../agents/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const list = await createAgentRegistry(ctx.client, loaded.config).listTokens();
      if (opts.json) return console.log(jsonForTerminal(list));
      if (list.length === 0) return console.log('no enrollment tokens');
      printTable([
        ['TOKEN', 'NAMESPACE', 'CREATED', 'EXPIRES', 'USES', 'STATUS', 'DESCRIPTION'],
        ...list.map((t) => [t.token_id, t.namespace, t.created_at, t.expires_at, `${t.uses}/${t.max_uses}`, t.status, t.description ?? '']),
      ]);
    });

  token
    .command('revoke <token-id>')
    .description('revoke an enrollment token: no new agent can enroll with it (enrolled agents keep their keys); an id starting with "-" goes after --')
    .action(async (tokenId: string, _opts, cmd: Command) => {
      const { createAgentRegistry } = await import('../../agents/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      if (!(await createAgentRegistry(ctx.client, loaded.config).revokeToken(tokenId))) throw new NyxError(`no enrollment token ${tokenId}`);
      printLine(`revoked enrollment token ${tokenId}`);
    });
}
