// Benchmark: CPU and peak RSS of `nyx ship` tailing a file written at a steady rate, against a local stub
// of the ingest API; events lost must be 0. The bundled shipper and the CLI's `nyx ship` run side by side. Compared with rsyslog's omelasticsearch when Debian's
// rsyslog + rsyslog-elasticsearch are installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStubIngest, type StubIngest } from '../test/shipper/stub-ingest.ts';
import { buildShipperScript } from '../src/shipper/bundle.ts';

const NYX = fileURLToPath(new URL('../bin/nyx.js', import.meta.url));
const CLOCK_TICKS = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}

function peakRssMb(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

function rsyslogAvailable(): { ok: true; es: URL } | { ok: false; why: string } {
  const pkg = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'rsyslog-elasticsearch']);
  if (pkg.status !== 0 || !/install ok installed/.test(pkg.stdout.toString())) {
    return { ok: false, why: 'Debian packages rsyslog + rsyslog-elasticsearch are not installed on this machine (apt-get install rsyslog rsyslog-elasticsearch)' };
  }
  if (!process.env.ELASTICSEARCH_URL) return { ok: false, why: 'rsyslog comparison ships to a real Elasticsearch node; run with ELASTICSEARCH_URL set' };
  return { ok: true, es: new URL(process.env.ELASTICSEARCH_URL) };
}

/**
 * rsyslogd as its own instance (own config, work dir and pid file; no imuxsock, so the host's logging is
 * untouched): imfile tails the same file, omelasticsearch bulk-writes each line to `index`.
 */
function startRsyslog(dir: string, log: string, es: URL, index: string): ReturnType<typeof spawn> {
  const work = join(dir, 'rsyslog');
  mkdirSync(work);
  const conf = join(work, 'rsyslog.conf');
  writeFileSync(
    conf,
    `global(workDirectory="${work}")
module(load="imfile")
module(load="omelasticsearch")
template(name="nyxjson" type="list" option.jsonf="on") {
  property(outname="@timestamp" name="timegenerated" dateFormat="rfc3339" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
}
input(type="imfile" File="${log}" Tag="bench" ruleset="es")
ruleset(name="es") {
  action(type="omelasticsearch" server="${es.hostname}" serverport="${es.port || (es.protocol === 'https:' ? 443 : 9200)}" usehttps="${es.protocol === 'https:' ? 'on' : 'off'}"
         template="nyxjson" searchIndex="${index}" esVersion.major="9" bulkmode="on" maxbytes="10m"
         queue.type="linkedlist" queue.size="500000" queue.dequeuebatchsize="1000" action.resumeretrycount="-1"
         errorfile="${join(work, 'es-errors.json')}")
}
`,
  );
  return spawn('rsyslogd', ['-n', '-f', conf, '-i', join(work, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function esCount(es: URL, index: string): Promise<number> {
  const base = es.origin;
  await fetch(`${base}/${index}/_refresh`, { method: 'POST' }).catch(() => undefined);
  const res = await fetch(`${base}/${index}/_count`).catch(() => undefined);
  if (!res?.ok) return 0;
  return ((await res.json()) as { count: number }).count;
}

/** One Nyx shipper under test: its own stub server, config and state dir, tailing the shared log file. */
interface RunningShipper {
  name: string;
  stub: StubIngest;
  child: ChildProcess;
  pid: number;
  startTicks: number;
}

async function startShipper(name: string, dir: string, entry: string): Promise<RunningShipper> {
  const stub = await startStubIngest();
  const config = join(dir, `ship-${name}.yml`);
  writeFileSync(config, `server: ${stub.url}\nenrollment_token: nyxet_test_token\nstate_dir: ./state-${name}\ninputs:\n  - type: files\n    paths: ['./logs/*.log']\n    poll_ms: 250\noutput:\n  batch_size: 1000\n  flush_interval_ms: 1000\n`);
  const child = spawn(process.execPath, [entry, 'ship', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { name, stub, child, pid: child.pid as number, startTicks: 0 };
}

/**
 * Both ways Nyx's shipper runs, side by side on the same file: the bundled nyx-ship.mjs (what agent
 * bundles deploy) and `nyx ship` through bin/nyx.js (tsx, the CLI with its commands loaded on demand).
 * `--only bundle|cli` runs one of them.
 */
export async function run(args: string[]): Promise<object> {
  const seconds = arg(args, 'seconds', 60);
  const rate = arg(args, 'rate', 2000);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args[onlyAt + 1] : args.includes('--via-cli') ? 'cli' : undefined;
  if (only !== undefined && only !== 'bundle' && only !== 'cli') throw new Error(`--only ${only}: expected bundle or cli`);
  const dir = mkdtempSync(join(tmpdir(), 'nyx-bench-ship-'));
  mkdirSync(join(dir, 'logs'));
  const log = join(dir, 'logs', 'bench.log');
  writeFileSync(log, '');
  const shippers: RunningShipper[] = [];
  const rsyslog = rsyslogAvailable();
  const rsIndex = `nyx-bench-rsyslog-${Date.now()}`;
  let rs: ReturnType<typeof spawn> | undefined;
  let written = 0;
  const line = (n: number): string => `Jan 31 12:00:00 bench sshd[4242]: Failed password for invalid user admin from 203.0.113.${n % 250} port ${40000 + (n % 20000)} ssh2 seq=${n}\n`;
  try {
    if (only !== 'cli') {
      const bundle = join(dir, 'nyx-ship.mjs');
      writeFileSync(bundle, await buildShipperScript());
      shippers.push(await startShipper('bundle', dir, bundle));
    }
    if (only !== 'bundle') shippers.push(await startShipper('cli', dir, NYX));
    rs = rsyslog.ok ? startRsyslog(dir, log, rsyslog.es, rsIndex) : undefined;
    appendFileSync(log, line(written++));
    const until = Date.now() + 30_000;
    while (shippers.some((s) => s.stub.stored.size < 1)) {
      if (Date.now() > until) throw new Error(`${shippers.filter((s) => s.stub.stored.size < 1).map((s) => s.name).join(' and ')} did not start shipping within 30 s`);
      await sleep(100);
    }
    process.stderr.write(`# shipper (${shippers.map((s) => s.name).join(' + ')}): writing ${rate} lines/s for ${seconds}s\n`);
    for (const s of shippers) s.startTicks = cpuTicks(s.pid);
    const rsStartTicks = rs?.pid ? cpuTicks(rs.pid) : 0;
    const start = Date.now();
    const tickMs = 100;
    for (let t = 0; Date.now() - start < seconds * 1000; t++) {
      // Catch up to the schedule so the rate holds even when a timer is late.
      const due = Math.floor(((Date.now() - start) / 1000) * rate) + 1;
      let text = '';
      while (written <= due) text += line(written++);
      if (text) appendFileSync(log, text);
      if (t % 50 === 0 && t) process.stderr.write(`# ${Math.round((Date.now() - start) / 1000)}s: ${written} written, ${shippers.map((s) => `${s.stub.stored.size} stored by ${s.name}`).join(', ')}\n`);
      await sleep(tickMs);
    }
    const elapsed = (Date.now() - start) / 1000;
    const cpuPct = new Map(shippers.map((s) => [s.name, (((cpuTicks(s.pid) - s.startTicks) / CLOCK_TICKS) / elapsed) * 100]));
    const rsCpuPct = rs?.pid ? (((cpuTicks(rs.pid) - rsStartTicks) / CLOCK_TICKS) / elapsed) * 100 : NaN;
    const drainStart = Date.now();
    while (shippers.some((s) => s.stub.stored.size < written) && Date.now() - drainStart < 30_000) await sleep(100);
    const drainS = (Date.now() - drainStart) / 1000;
    const results = shippers.map((s) => {
      const rss = peakRssMb(s.pid);
      const stored = new Set([...s.stub.stored.values()].map((e) => String(e.raw)));
      const lost = written - stored.size;
      const cpu = cpuPct.get(s.name) ?? NaN;
      return {
        shipper: s.name === 'bundle' ? 'bundled nyx-ship.mjs (as in agent bundles)' : 'bin/nyx.js ship (tsx, CLI)',
        lines_stored: stored.size,
        events_lost: lost,
        duplicates_resent: s.stub.duplicates,
        shipper_cpu_pct_of_one_core: Math.round(cpu * 10) / 10,
        shipper_peak_rss_mb: rss,
        throughput_lines_per_s: Math.round(stored.size / (elapsed + drainS)),
        met: { cpu: cpu < 5, rss: rss < 150, lost: lost === 0 },
      };
    });
    let rsResult: object | string = rsyslog.ok ? 'failed to start' : `skipped: ${rsyslog.why}`;
    if (rs?.pid && rsyslog.ok) {
      // rsyslog drains into Elasticsearch; wait (at most 30 s more) until every line is counted there.
      const rsDrainStart = Date.now();
      let count = await esCount(rsyslog.es, rsIndex);
      while (count < written && Date.now() - rsDrainStart < 30_000) {
        await sleep(500);
        count = await esCount(rsyslog.es, rsIndex);
      }
      const rsDrainS = (Date.now() - rsDrainStart) / 1000;
      const rsRss = peakRssMb(rs.pid);
      rsResult = {
        shipper: 'rsyslogd imfile + omelasticsearch (bulk) into the same Elasticsearch node',
        lines_stored: count,
        events_lost: Math.max(0, written - count),
        duplicates: Math.max(0, count - written),
        cpu_pct_of_one_core: Math.round(rsCpuPct * 10) / 10,
        peak_rss_mb: rsRss,
        drain_after_stop_s: Math.round(rsDrainS * 10) / 10,
        throughput_lines_per_s: Math.round(count / (elapsed + rsDrainS)),
      };
    }
    const byName = Object.fromEntries(shippers.map((s, i) => [s.name, results[i]]));
    return {
      benchmark: 'shipper',
      seconds: Math.round(elapsed),
      rate_lines_per_s: rate,
      lines_written: written,
      drain_after_stop_s: Math.round(drainS * 10) / 10,
      ...byName,
      targets: { cpu_pct_lt: 5, rss_mb_lt: 150, events_lost: 0 },
      server: 'one local stub of POST /api/ingest per shipper (in-process, same machine)',
      rsyslog: rsResult,
    };
  } finally {
    for (const s of shippers) {
      s.child.kill('SIGTERM');
      await new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)));
      await s.stub.close();
    }
    const rsChild = rs;
    if (rsChild) {
      rsChild.kill('SIGTERM');
      await new Promise((r) => (rsChild.exitCode !== null ? r(null) : rsChild.once('exit', r)));
      if (rsyslog.ok) await fetch(`${rsyslog.es.origin}/${rsIndex}`, { method: 'DELETE' }).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await run(process.argv.slice(2))));
}
