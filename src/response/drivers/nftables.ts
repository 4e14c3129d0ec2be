import { z } from 'zod';
import type { ActionCall, ActionDriver, ActionOutcome, DriverContext } from '../driver.ts';
import {
  blockIpParamsSchema,
  clip,
  describeCommand,
  errorText,
  failedOutcome,
  guardrailRefusal,
  normaliseIp,
  parseParams,
  parseUndo,
  runCommand,
  type BlockIpParams,
  type CommandResult,
} from './common.ts';
import { nftablesSettingsSchema, type NftablesSettings } from './settings.ts';

/**
 * block_ip on the local host (or a network namespace) with nftables: a table `inet <table>` with
 * named sets of type ipv4_addr/ipv6_addr and `flags timeout`, base chains dropping sources in them,
 * and one set element per blocked address carrying its own timeout, so the kernel expires the block
 * even if Nyx is down. nft always runs through execFile with an argv array.
 */

export const NFTABLES_BLOCK_TYPE = 'block_ip_nftables';

const nameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/);

const undoSchema = z.object({
  backend: z.literal('nftables'),
  ip: z.string().min(1),
  table: nameSchema,
  set: nameSchema,
  netns: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  expires_at: z.string().optional(),
});

// `nft -j list …` output, only the parts the driver reads.
const nftSetSchema = z
  .object({ name: z.string(), table: z.string(), type: z.unknown(), flags: z.array(z.string()).optional() })
  .loose();
const nftChainSchema = z.object({ name: z.string(), table: z.string(), hook: z.string().optional() }).loose();
const nftRuleSchema = z.object({ chain: z.string(), table: z.string(), expr: z.array(z.record(z.string(), z.unknown())).default([]) }).loose();
const nftListingSchema = z.object({ nftables: z.array(z.record(z.string(), z.unknown())) });

/** nft invocations that only read state (not audited unless they fail). */
const READ_ONLY = new Set(['-t', '-j', 'get']);

interface TableState {
  sets: Map<string, z.infer<typeof nftSetSchema>>;
  chains: Set<string>;
  /** "<chain>/<set>" for each chain rule that drops sources in a set. */
  dropRules: Set<string>;
}

export interface NftablesDriverOptions {
  /** Registry type; defaults to block_ip_nftables. */
  type?: string;
}

export function createNftablesDriver(input: Partial<NftablesSettings> = {}, options: NftablesDriverOptions = {}): ActionDriver<BlockIpParams> {
  const settings = nftablesSettingsSchema.parse(input);
  const type = options.type ?? NFTABLES_BLOCK_TYPE;

  function argv(netns: string | undefined, nftArgs: string[]): { file: string; args: string[] } {
    return netns ? { file: settings.ip_path, args: ['netns', 'exec', netns, settings.nft_path, ...nftArgs] } : { file: settings.nft_path, args: nftArgs };
  }

  async function nft(ctx: DriverContext | undefined, calls: ActionCall[] | undefined, netns: string | undefined, nftArgs: string[]): Promise<CommandResult> {
    const { file, args } = argv(netns, nftArgs);
    const call: ActionCall = { description: describeCommand(file, args) };
    const result = await runCommand(file, args, { timeoutMs: settings.timeout_ms, ...(ctx?.signal ? { signal: ctx.signal } : {}) });
    call.status = result.code;
    if (result.code !== 0) call.result = clip(result.stderr.trim());
    // Listings are read-only and can be large: audited only when they fail.
    if (calls && (result.code !== 0 || !READ_ONLY.has(nftArgs[0] ?? ''))) calls.push(call);
    return result;
  }

  function setFor(version: 4 | 6): { name: string; type: string; match: string } {
    return version === 4 ? { name: settings.set4, type: 'ipv4_addr', match: 'ip' } : { name: settings.set6, type: 'ipv6_addr', match: 'ip6' };
  }

  async function readTable(ctx: DriverContext | undefined, calls: ActionCall[] | undefined, table: string, netns: string | undefined): Promise<TableState | undefined> {
    // -t (terse) leaves set elements out: the listing stays small however many addresses are blocked.
    const listed = await nft(ctx, undefined, netns, ['-t', '-j', 'list', 'table', 'inet', table]);
    if (listed.code !== 0) {
      if (/No such file or directory/.test(listed.stderr)) return undefined;
      const { file, args } = argv(netns, ['-t', '-j', 'list', 'table', 'inet', table]);
      calls?.push({ description: describeCommand(file, args), status: listed.code, result: clip(listed.stderr.trim()) });
      throw new Error(`nft list table inet ${table} failed: ${clip(listed.stderr.trim(), 200)}`);
    }
    const parsed = nftListingSchema.parse(JSON.parse(listed.stdout));
    const state: TableState = { sets: new Map(), chains: new Set(), dropRules: new Set() };
    for (const entry of parsed.nftables) {
      if (entry.set) {
        const set = nftSetSchema.parse(entry.set);
        state.sets.set(set.name, set);
      } else if (entry.chain) {
        state.chains.add(nftChainSchema.parse(entry.chain).name);
      } else if (entry.rule) {
        const rule = nftRuleSchema.parse(entry.rule);
        const drops = rule.expr.some((e) => 'drop' in e);
        for (const e of rule.expr) {
          const right = (e.match as { right?: unknown } | undefined)?.right;
          if (drops && typeof right === 'string' && right.startsWith('@')) state.dropRules.add(`${rule.chain}/${right.slice(1)}`);
        }
      }
    }
    return state;
  }

  /** Set once the table, sets and drop rules are known to exist in this process. */
  let tableReady = false;
  // Setup is check-then-add: concurrent applies in this process take turns so no drop rule is added twice.
  let setupQueue: Promise<unknown> = Promise.resolve();
  function ensureTable(ctx: DriverContext, calls: ActionCall[]): Promise<TableState> {
    const run = setupQueue.then(() => ensureTableNow(ctx, calls));
    setupQueue = run.catch(() => undefined);
    return run;
  }

  /** Creates whatever part of the table, sets, chains and drop rules is missing (add is idempotent; rules are checked first). */
  async function ensureTableNow(ctx: DriverContext, calls: ActionCall[]): Promise<TableState> {
    const netns = settings.netns;
    const table = settings.table;
    let state = await readTable(ctx, calls, table, netns);
    const commands: string[][] = [];
    if (!state) commands.push(['add', 'table', 'inet', table]);
    for (const version of [4, 6] as const) {
      const set = setFor(version);
      if (!state?.sets.has(set.name)) commands.push(['add', 'set', 'inet', table, set.name, `{ type ${set.type}; flags timeout; }`]);
    }
    for (const hook of settings.hooks) {
      if (!state?.chains.has(hook)) commands.push(['add', 'chain', 'inet', table, hook, `{ type filter hook ${hook} priority -10; policy accept; }`]);
      for (const version of [4, 6] as const) {
        const set = setFor(version);
        if (!state?.dropRules.has(`${hook}/${set.name}`)) commands.push(['add', 'rule', 'inet', table, hook, set.match, 'saddr', `@${set.name}`, 'drop']);
      }
    }
    if (commands.length) {
      // One nft invocation = one netlink transaction: the whole setup lands or none of it.
      const joined = commands.flatMap((c, i) => (i ? [';', ...c] : c));
      const made = await nft(ctx, calls, netns, joined);
      if (made.code !== 0) throw new Error(`nft setup of table inet ${table} failed: ${clip(made.stderr.trim(), 300)}`);
      state = await readTable(ctx, calls, table, netns);
    }
    if (!state) throw new Error(`nft table inet ${table} missing right after creating it`);
    return state;
  }

  /** Whether the set holds the address (`nft get element`, exit 0) and, if it says, when it expires. */
  async function findElement(
    ctx: DriverContext | undefined,
    calls: ActionCall[] | undefined,
    netns: string | undefined,
    table: string,
    set: string,
    ip: string,
  ): Promise<{ present: boolean; expires?: string }> {
    const got = await nft(ctx, undefined, netns, ['get', 'element', 'inet', table, set, '{', ip, '}']);
    if (got.code === 0) {
      const expires = /expires ([0-9dhms]+)/.exec(got.stdout)?.[1];
      return { present: true, ...(expires ? { expires } : {}) };
    }
    // Absent element, set or table all read "No such file or directory".
    if (/No such file or directory/.test(got.stderr)) return { present: false };
    const { file, args } = argv(netns, ['get', 'element', 'inet', table, set, '{', ip, '}']);
    calls?.push({ description: describeCommand(file, args), status: got.code, result: clip(got.stderr.trim()) });
    throw new Error(`nft get element failed: ${clip(got.stderr.trim(), 200)}`);
  }

  function elementArgs(verb: 'add' | 'delete', table: string, set: string, ip: string, ttlSeconds?: number): string[] {
    return [verb, 'element', 'inet', table, set, '{', ip, ...(ttlSeconds ? ['timeout', `${ttlSeconds}s`] : []), '}'];
  }

  return {
    type,

    parse(params: unknown): BlockIpParams {
      return parseParams(blockIpParamsSchema, params, type);
    },

    dryRun(params: BlockIpParams): ActionCall[] {
      const ip = normaliseIp(params.ip);
      const set = setFor(ip.version).name;
      const show = (nftArgs: string[]) => {
        const { file, args } = argv(settings.netns, nftArgs);
        return { description: describeCommand(file, args) };
      };
      return [
        { description: `ensure table inet ${settings.table} with sets ${settings.set4}/${settings.set6} (flags timeout) and drop rules in ${settings.hooks.join(', ')}` },
        show(elementArgs('add', settings.table, set, ip.address, params.ttl_seconds)),
      ];
    },

    async apply(ctx: DriverContext, params: BlockIpParams): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const refused = guardrailRefusal(ctx, { kind: 'ip', value: params.ip }, calls);
      if (refused) return refused;
      const ip = normaliseIp(params.ip);
      const set = setFor(ip.version).name;
      const undo = {
        backend: 'nftables',
        ip: ip.address,
        table: settings.table,
        set,
        ...(settings.netns ? { netns: settings.netns } : {}),
        expires_at: new Date(Date.now() + params.ttl_seconds * 1000).toISOString(),
        // The kernel expires the element itself; undo before then is only an early release.
        expiry_managed_by: 'firewall',
      };
      try {
        const add = elementArgs('add', settings.table, set, ip.address, params.ttl_seconds);
        const block = async (): Promise<{ result: CommandResult; renewed: boolean }> => {
          const existing = await findElement(ctx, calls, settings.netns, settings.table, set, ip.address);
          if (!existing.present) return { result: await nft(ctx, calls, settings.netns, add), renewed: false };
          // Re-applying renews the TTL: delete and re-add in one transaction, so there is no unblocked gap.
          let result = await nft(ctx, calls, settings.netns, [...elementArgs('delete', settings.table, set, ip.address), ';', ...add]);
          // The old element may have expired between listing and delete: a plain add then does it.
          if (result.code !== 0) result = await nft(ctx, calls, settings.netns, add);
          return { result, renewed: true };
        };
        // The table is checked once per process, not before every block (each check is another nft process);
        // if it vanished since (someone flushed the ruleset), the block fails, the table is rebuilt and the block retried.
        let outcome: { result: CommandResult; renewed: boolean } | undefined;
        if (tableReady) {
          try {
            outcome = await block();
          } catch {
            outcome = undefined;
          }
          if (!outcome || outcome.result.code !== 0) tableReady = false;
        }
        if (!tableReady) {
          await ensureTable(ctx, calls);
          tableReady = true;
          outcome = await block();
        }
        const { result, renewed } = outcome!;
        const existing = { present: renewed };
        if (result.code !== 0) return failedOutcome(calls, `nftables: could not block ${ip.address}`, clip(result.stderr.trim(), 300));
        return {
          ok: true,
          calls,
          undo,
          summary: `nftables: ${ip.address} blocked in inet ${settings.table} ${set} for ${params.ttl_seconds}s${existing.present ? ' (already blocked: TTL renewed)' : ''}${settings.netns ? ` (netns ${settings.netns})` : ''}`,
        };
      } catch (err) {
        return failedOutcome(calls, `nftables: could not block ${ip.address}`, errorText(err));
      }
    },

    async undo(ctx: DriverContext, _params: BlockIpParams, undoData: Record<string, unknown>): Promise<ActionOutcome> {
      const calls: ActionCall[] = [];
      const recorded = parseUndo(undoSchema, undoData, type);
      const ip = normaliseIp(recorded.ip).address;
      try {
        const result = await nft(ctx, calls, recorded.netns, elementArgs('delete', recorded.table, recorded.set, ip));
        // Absent (expired, or already undone) is the state undo wants: idempotent.
        if (result.code !== 0 && !/No such file or directory/.test(result.stderr)) {
          return failedOutcome(calls, `nftables: could not unblock ${ip}`, clip(result.stderr.trim(), 300));
        }
        return { ok: true, calls, summary: `nftables: ${ip} unblocked${result.code !== 0 ? ' (was not blocked any more)' : ''}` };
      } catch (err) {
        return failedOutcome(calls, `nftables: could not unblock ${ip}`, errorText(err));
      }
    },

    async status(ctx: DriverContext, _params: BlockIpParams, undoData: Record<string, unknown>): Promise<{ active: boolean; detail: string }> {
      const recorded = parseUndo(undoSchema, undoData, type);
      const ip = normaliseIp(recorded.ip).address;
      const found = await findElement(ctx, undefined, recorded.netns, recorded.table, recorded.set, ip);
      if (!found.present) return { active: false, detail: `${ip} not in inet ${recorded.table} ${recorded.set}` };
      return { active: true, detail: `${ip} in inet ${recorded.table} ${recorded.set}${found.expires ? `, expires in ${found.expires}` : ''}` };
    },
  };
}
