import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import { commandElastic, progress } from '../context.ts';

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

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
      if (opts.json) return console.log(JSON.stringify(list));
      if (list.length === 0) return console.log('no agents enrolled');
      console.log(
        table([
          ['AGENT', 'HOSTNAME', 'OS', 'IP', 'VERSION', 'NAMESPACE', 'ENROLLED', 'LAST SEEN', 'STATUS'],
          ...list.map((a) => [a.agent_id, a.hostname, a.os, a.ip, a.version, a.namespace, a.enrolled_at, a.last_seen ?? '-', a.status]),
        ]),
      );
    });

  agents
    .command('revoke <agent-id>')
    .description('revoke an agent: its key stops working (within serve.auth_cache_ms on running servers)')
    .action(async (agentId: string, _opts, cmd: Command) => {
      const { createAgentRegistry } = await import('../../agents/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      if (!(await createAgentRegistry(ctx.client, loaded.config).revokeAgent(agentId))) throw new NyxError(`no agent ${agentId}`);
      console.log(`revoked agent ${agentId}`);
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
      if (opts.json) return console.log(JSON.stringify(list));
      if (list.length === 0) return console.log('no agent downloads recorded');
      console.log(
        table([
          ['WHEN', 'OPERATOR', 'CLIENT IP', 'PLATFORM', 'NAMESPACE', 'TOKEN', 'FILE', 'SHA-256'],
          ...list.map((d) => [d['@timestamp'], d.operator.name ?? d.operator.credential, d.client.ip, d.platform, d.namespace, d.token_id, d.file.name, d.file.sha256]),
        ]),
      );
    });

  const token = agents.command('token').description('enrollment tokens: one tenant (namespace) each, expiring');

  token
    .command('create')
    .description('create an enrollment token for a namespace; prints the token (shown once)')
    .requiredOption('--namespace <tenant>', 'the tenant whose data streams the enrolled agents write to')
    .option('--ttl <duration>', 'lifetime such as 30m, 24h, 7d (at most 30d)', '24h')
    .option('--description <text>', 'a note shown in `nyx agents token list`')
    .action(async (opts: { namespace: string; ttl: string; description?: string }, cmd: Command) => {
      const { createAgentRegistry, parseTtl } = await import('../../agents/index.ts');
      const ttlMs = parseTtl(opts.ttl);
      const { loaded, ctx } = await commandElastic(cmd);
      const created = await createAgentRegistry(ctx.client, loaded.config).createToken({ namespace: opts.namespace, ttlMs, ...(opts.description ? { description: opts.description } : {}) });
      progress(`enrollment token ${created.record.token_id} for namespace ${created.record.namespace}, expires ${created.record.expires_at}`);
      console.log(created.token);
    });

  token
    .command('list')
    .description('enrollment tokens (never the secrets): id, namespace, created, expires, status')
    .option('--json', 'print one JSON array')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { createAgentRegistry } = await import('../../agents/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      const list = await createAgentRegistry(ctx.client, loaded.config).listTokens();
      if (opts.json) return console.log(JSON.stringify(list));
      if (list.length === 0) return console.log('no enrollment tokens');
      console.log(
        table([['TOKEN', 'NAMESPACE', 'CREATED', 'EXPIRES', 'STATUS', 'DESCRIPTION'], ...list.map((t) => [t.token_id, t.namespace, t.created_at, t.expires_at, t.status, t.description ?? ''])]),
      );
    });

  token
    .command('revoke <token-id>')
    .description('revoke an enrollment token: no new agent can enroll with it (enrolled agents keep their keys)')
    .action(async (tokenId: string, _opts, cmd: Command) => {
      const { createAgentRegistry } = await import('../../agents/index.ts');
      const { loaded, ctx } = await commandElastic(cmd);
      if (!(await createAgentRegistry(ctx.client, loaded.config).revokeToken(tokenId))) throw new NyxError(`no enrollment token ${tokenId}`);
      console.log(`revoked enrollment token ${tokenId}`);
    });
}
