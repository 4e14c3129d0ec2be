// Benchmark: the response worker over the real Elasticsearch.
// 1. alert → first action applied: an alert is written to nyx-alerts-<ns>, one `nyx respond` pass picks it up and runs
//    a block_ip playbook; latency from the write to the block driver's apply returning (poll wait excluded: add
//    response.poll_interval_ms / 2 on average). p50/p95/p99.
// 2. actions/s sustained through the engine (lease, record, audit, alert note per action), guardrails on vs off, in the
//    same run (the ratio is the guardrails' cost).
// The block_ip driver is an in-memory one unless `--registered-block-ip` is given: then the drivers nyx.yml configures
// (response.drivers: nftables by default, which needs root and nft) are used, e.g. by the firewall engineer.
// `--nftables`: the real nftables driver (block_ip with the nftables backend) inside a network namespace the bench
// creates for itself and deletes at the end (needs root, iproute2 and nft); the blocked addresses are benchmark-range
// set elements only, no traffic is sent.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Client } from '@elastic/elasticsearch';
import { loadConfig } from '../src/config/index.ts';
import { alertIndex, type AlertDocument } from '../src/alerts/index.ts';
import type { ActionDriver } from '../src/response/driver.ts';
import { responseSchema } from '../src/response/config.ts';
import { ResponseEngine } from '../src/response/engine.ts';
import { ResponseWorker } from '../src/response/worker.ts';
import { parsePlaybook } from '../src/response/playbook.ts';
import { actionDriver, registerActionDriver } from '../src/response/drivers/index.ts';
import { registerBuiltinDrivers } from '../src/response/builtin.ts';
import { createBlockIpDriver } from '../src/response/drivers/block-ip.ts';
import { createNftablesDriver } from '../src/response/drivers/nftables.ts';
import { actionsIndex, auditIndex } from '../src/response/store.ts';

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (n: number): number => Math.round(n * 100) / 100;
const exec = promisify(execFile);

/** A network namespace of the bench's own for the nftables driver; removed by the returned function. */
async function benchNetns(): Promise<{ name: string; remove(): Promise<void> }> {
  if (process.getuid?.() !== 0) throw new Error('--nftables needs root (it creates a network namespace and runs nft in it)');
  const name = `nyx-bench-${randomBytes(3).toString('hex')}`;
  await exec('ip', ['netns', 'add', name]);
  const remove = async (): Promise<void> => {
    await exec('ip', ['netns', 'del', name]).catch(() => undefined);
  };
  try {
    await exec('ip', ['netns', 'exec', name, 'nft', 'list', 'ruleset']);
  } catch (err) {
    await remove();
    throw new Error(`--nftables: nft does not run in a network namespace here: ${(err as Error).message.split('\n')[0]}`);
  }
  return { name, remove };
}

function alert(ns: string, ip: string): AlertDocument {
  const at = new Date().toISOString();
  return {
    '@timestamp': at,
    event: { kind: 'alert', severity: 73, risk_score: 81 },
    rule: { id: 'bench-brute-force', name: 'bench brute force' },
    threat: { technique: { id: ['T1110.001'] } },
    source: { ip },
    nyx: { alert: { status: 'open', reason: 'bench', entity: ip, entity_type: 'ip', bucket_start: at, namespace: ns, evidence: { event_ids: [], indices: [] } } },
  } as AlertDocument;
}

const PLAYBOOK = parsePlaybook(
  `name: bench-block
level: constrain
trigger: { rule_ids: [bench-brute-force] }
steps:
  - { id: block, type: block_ip, ttl: 1h, params: { ip: "{{source.ip}}", ttl_seconds: "{{$ttl_seconds}}", alert_id: "{{$alert_id}}" } }
`,
  'bench/response.ts',
);

export async function run(args: string[]): Promise<object> {
  const latencyAlerts = arg(args, 'alerts', 50);
  const throughputAlerts = arg(args, 'actions', 300);
  const concurrency = arg(args, 'concurrency', 8);
  const registered = args.includes('--registered-block-ip');
  const nftables = args.includes('--nftables');
  if (registered && nftables) throw new Error('--registered-block-ip and --nftables are exclusive');
  const client = new Client({ node: process.env.ELASTICSEARCH_URL!, requestTimeout: 60_000 });
  const loaded = loadConfig();

  let appliedAt = new Map<string, number>();
  let failedApplies = 0;
  // Same driver, with the moment its apply returned noted (a failed apply is counted, not timed).
  const timed = (real: ActionDriver<unknown>): ActionDriver<unknown> => ({
    ...real,
    type: 'block_ip',
    apply: async (ctx, p) => {
      const o = await real.apply(ctx, p);
      if (o.ok) appliedAt.set(String((p as { ip: string }).ip), performance.now());
      else failedApplies++;
      return o;
    },
  });
  let netns: { name: string; remove(): Promise<void> } | undefined;
  if (nftables) {
    netns = await benchNetns();
    registerActionDriver(timed(createBlockIpDriver([createNftablesDriver({ netns: netns.name, table: 'nyx_bench' })]) as ActionDriver<unknown>));
  } else if (registered) {
    registerBuiltinDrivers(loaded.config.response);
    const real = actionDriver('block_ip');
    if (!real) throw new Error('no block_ip driver registered');
    registerActionDriver(timed(real));
  } else {
    const blocked = new Set<string>();
    registerActionDriver<{ ip: string }>({
      type: 'block_ip',
      parse: (p) => p as { ip: string },
      dryRun: (p) => [{ description: `memory add ${p.ip}` }],
      apply: async (_c, p) => {
        blocked.add(p.ip);
        appliedAt.set(p.ip, performance.now());
        return { ok: true, calls: [{ description: `memory add ${p.ip}`, status: 0 }], summary: `blocked ${p.ip}`, undo: { ip: p.ip } };
      },
      undo: async (_c, p) => (blocked.delete(p.ip), { ok: true, calls: [], summary: 'unblocked' }),
      status: async (_c, p) => ({ active: blocked.has(p.ip), detail: '' }),
    });
  }
  const blockDriver = nftables ? `nftables (real nft in netns ${netns!.name})` : registered ? 'registered (nyx.yml response.drivers)' : 'in-memory';
  const namespaces: string[] = [];
  const config = responseSchema.parse({
    guardrails: {
      // A realistic allowlist: own ranges, gateways, DNS, cluster hosts.
      protected_ips: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8', ...Array.from({ length: 100 }, (_, i) => `100.64.${i}.0/24`)],
      rate_limits: { block_ip: { max: 1_000_000, window_seconds: 60 } },
      per_target: { max: 1_000_000, window_seconds: 60 },
    },
  });
  const mkEngine = (ns: string, guardrailsOff: boolean): ResponseEngine =>
    new ResponseEngine({ client, namespace: ns, config, playbooks: [PLAYBOOK], holder: `bench-${randomBytes(2).toString('hex')}`, ...(guardrailsOff ? { guardrailsOff: true } : {}) });

  try {
    // 1. latency: write → pass → applied
    const ns1 = `bench_${randomBytes(4).toString('hex')}`;
    namespaces.push(ns1);
    const engine = mkEngine(ns1, false);
    const worker = new ResponseWorker(engine, { client, namespace: ns1, pollIntervalMs: 1000, lookbackSeconds: 0, batchSize: 100 });
    const latencies: number[] = [];
    appliedAt = new Map();
    for (let i = 0; i < latencyAlerts; i++) {
      const ip = `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      const t0 = performance.now();
      // The alert writer refreshes so the respond pass can see it: part of the measured path.
      await client.index({ index: alertIndex(ns1), id: `lat-${i}`, document: alert(ns1, ip), refresh: true });
      await worker.tick();
      const t1 = appliedAt.get(ip);
      if (t1 !== undefined) latencies.push(t1 - t0);
      if (i % 10 === 9) process.stderr.write(`# latency ${i + 1}/${latencyAlerts}\n`);
    }
    latencies.sort((a, b) => a - b);

    // 2. throughput, guardrails on vs off (same alerts shape, fresh namespaces)
    // Each run blocks addresses of its own, so a real firewall never sees a re-block (a TTL renewal) of the other run's.
    const throughput = async (guardrailsOff: boolean, base: number): Promise<number> => {
      const ns = `bench_${randomBytes(4).toString('hex')}`;
      namespaces.push(ns);
      const e = mkEngine(ns, guardrailsOff);
      const alerts = Array.from({ length: throughputAlerts }, (_, i) => alert(ns, `198.19.${base + Math.floor(i / 250)}.${(i % 250) + 1}`));
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < alerts.length) {
            const i = next++;
            await e.handleAlert(`tp-${i}`, alerts[i]!);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      process.stderr.write(`# ${throughputAlerts} actions with guardrails ${guardrailsOff ? 'off' : 'on'}: ${seconds.toFixed(2)}s\n`);
      return throughputAlerts / seconds;
    };
    if (throughputAlerts > 250 * 100) throw new Error('--actions: at most 25000');
    const off = await throughput(true, 0);
    const on = await throughput(false, 100);

    const result = {
      bench: 'response',
      block_ip_driver: blockDriver,
      alerts_measured: latencies.length,
      alert_to_first_action_ms: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), p99: round(percentile(latencies, 99)) },
      poll_wait_not_included_ms: `0..${loaded.config.response.poll_interval_ms} (response.poll_interval_ms)`,
      actions_per_second: { guardrails_on: round(on), guardrails_off: round(off), on_vs_off: round(on / off) },
      concurrency,
      failed_applies: failedApplies,
    };
    console.error(`alert → first action applied (${blockDriver} block_ip): p50 ${result.alert_to_first_action_ms.p50} ms, p95 ${result.alert_to_first_action_ms.p95} ms, p99 ${result.alert_to_first_action_ms.p99} ms`);
    console.error(`actions/s: guardrails on ${result.actions_per_second.guardrails_on}, off ${result.actions_per_second.guardrails_off} (on/off ${result.actions_per_second.on_vs_off})`);
    return result;
  } finally {
    await netns?.remove();
    const indices = namespaces.flatMap((ns) => [alertIndex(ns), actionsIndex(ns), auditIndex(ns)]);
    await client.indices.delete({ index: indices, ignore_unavailable: true, allow_no_indices: true }).catch(() => undefined);
    await client.close();
  }
}
