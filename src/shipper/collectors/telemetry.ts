import { statfsSync } from 'node:fs';
import { cpus } from 'node:os';
import { baseEvent, PollLoop, type Collector, type CollectorContext } from './types.ts';
import { readText } from './proc.ts';

interface CpuSample {
  busy: number;
  total: number;
}

function cpuSample(): CpuSample | null {
  const line = (readText('/proc/stat') ?? '').split('\n')[0] ?? '';
  if (!line.startsWith('cpu ')) return null;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function memory(): { total_bytes: number; used_bytes: number; pct: number } | null {
  const text = readText('/proc/meminfo') ?? '';
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  const total = kb('MemTotal');
  const available = kb('MemAvailable');
  if (!Number.isFinite(total) || !Number.isFinite(available)) return null;
  return { total_bytes: total, used_bytes: total - available, pct: round(((total - available) / total) * 100) };
}

function disk(path = '/'): { total_bytes: number; used_bytes: number; pct: number } | null {
  try {
    const s = statfsSync(path);
    const total = s.blocks * s.bsize;
    const used = (s.blocks - s.bfree) * s.bsize;
    return { total_bytes: total, used_bytes: used, pct: total ? round((used / total) * 100) : 0 };
  } catch {
    return null;
  }
}

function netCounters(): { rx_bytes: number; tx_bytes: number } {
  let rx = 0;
  let tx = 0;
  for (const line of (readText('/proc/net/dev') ?? '').split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest || name?.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx_bytes: rx, tx_bytes: tx };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** TelemetryCollector: cpu, ram, disk and network counters from /proc every interval, as `telemetry` events. */
export class TelemetryCollector implements Collector {
  private readonly loop: PollLoop;
  private lastCpu: CpuSample | null = null;
  private lastNet: { rx_bytes: number; tx_bytes: number; at: number } | null = null;

  constructor(
    readonly id: string,
    intervalMs: number,
    private readonly ctx: CollectorContext,
  ) {
    this.loop = new PollLoop(intervalMs, () => this.sample(), (err) => ctx.log.warn({ err }, 'telemetry sample failed'));
  }

  async start(): Promise<void> {
    this.lastCpu = cpuSample();
    this.lastNet = { ...netCounters(), at: Date.now() };
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One reading; cpu % is over the time since the previous reading. */
  reading(): Record<string, unknown> {
    const now = Date.now();
    const cpu = cpuSample();
    const prev = this.lastCpu;
    const pct = cpu && prev && cpu.total > prev.total ? round(((cpu.busy - prev.busy) / (cpu.total - prev.total)) * 100) : 0;
    this.lastCpu = cpu;
    const net = netCounters();
    const secs = this.lastNet ? Math.max(0.001, (now - this.lastNet.at) / 1000) : 0;
    const rates = this.lastNet && secs ? { rx_bps: Math.round((net.rx_bytes - this.lastNet.rx_bytes) / secs), tx_bps: Math.round((net.tx_bytes - this.lastNet.tx_bytes) / secs) } : { rx_bps: 0, tx_bps: 0 };
    this.lastNet = { ...net, at: now };
    const load = (readText('/proc/loadavg') ?? '0').split(' ').map(Number);
    // The contract types each of these as a map of numbers; a reading that failed is left out.
    const ram = memory();
    const root = disk();
    return {
      cpu: { pct, cores: cpus().length, load1: load[0] ?? 0 },
      ...(ram ? { ram } : {}),
      ...(root ? { disk: root } : {}),
      net: { ...net, ...rates },
    };
  }

  private sample(): void {
    const r = this.reading();
    const event = baseEvent(this.ctx.host, 'telemetry', new Date().toISOString());
    Object.assign(event, r);
    event.raw = JSON.stringify(r);
    const cpu = r.cpu as { pct: number };
    const ram = r.ram as { pct: number } | undefined;
    event.message = `cpu ${cpu.pct}% ram ${ram?.pct ?? '?'}%`;
    this.ctx.sink.write([event]);
  }
}
