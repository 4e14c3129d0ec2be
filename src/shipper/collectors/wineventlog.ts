import { parseStringPromise } from 'xml2js';
import { z } from 'zod';
import type { WindowsInputConfig } from '../config.ts';
import type { CollectedEvent, HostIdentity } from '../event.ts';
import { isMissingProgram, runCommand, type CommandRunner } from './command.ts';
import { baseEvent, PollLoop, type Collector, type CollectorContext } from './types.ts';

/** Last EventRecordID taken, per channel. */
const windowsCursorSchema = z.object({ channels: z.record(z.string(), z.number().int().nonnegative()) });

/** An Event as xml2js gives it with explicitArray off: text in `_`, attributes in `$`. */
type XmlNode = string | { _?: string; $?: Record<string, string>; [child: string]: unknown };

const xmlNodeSchema: z.ZodType<XmlNode> = z.union([z.string(), z.record(z.string(), z.unknown())]) as z.ZodType<XmlNode>;

function text(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (node && typeof node === 'object' && '_' in node && typeof (node as { _: unknown })._ === 'string') return (node as { _: string })._;
  return undefined;
}

function attrs(node: unknown): Record<string, string> {
  if (node && typeof node === 'object' && '$' in node) return (node as { $: Record<string, string> }).$;
  return {};
}

export interface WindowsEventRecord {
  System: {
    Provider: string;
    ProviderGuid?: string;
    EventID: number;
    Version?: number;
    Level?: number;
    Task?: number;
    Opcode?: number;
    Keywords?: string;
    TimeCreated: string;
    EventRecordID: number;
    ProcessID?: number;
    ThreadID?: number;
    Channel: string;
    Computer: string;
    UserID?: string;
  };
  EventData: Record<string, string | string[]>;
}

/** Windows' 100 ns timestamps (7 fractional digits) to ISO 8601 with milliseconds. */
function isoTime(value: string | undefined): string {
  if (!value) return new Date().toISOString();
  const d = new Date(value.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString();
}

function num(v: string | undefined): number | undefined {
  return v === undefined || v === '' ? undefined : Number(v);
}

/** Event.System / Event.EventData from one parsed <Event>; UserData (some providers) is flattened into EventData. */
export function normaliseWindowsEvent(parsed: Record<string, unknown>): WindowsEventRecord {
  const sys = (parsed.System ?? {}) as Record<string, unknown>;
  const provider = attrs(sys.Provider);
  const execution = attrs(sys.Execution);
  const system: WindowsEventRecord['System'] = {
    Provider: provider.Name ?? provider.EventSourceName ?? '',
    EventID: Number(text(sys.EventID) ?? 0),
    TimeCreated: isoTime(attrs(sys.TimeCreated).SystemTime),
    EventRecordID: Number(text(sys.EventRecordID) ?? 0),
    Channel: text(sys.Channel) ?? '',
    Computer: text(sys.Computer) ?? '',
  };
  if (provider.Guid) system.ProviderGuid = provider.Guid;
  for (const k of ['Version', 'Level', 'Task', 'Opcode'] as const) {
    const v = num(text(sys[k]));
    if (v !== undefined) system[k] = v;
  }
  const keywords = text(sys.Keywords);
  if (keywords) system.Keywords = keywords;
  if (execution.ProcessID) system.ProcessID = Number(execution.ProcessID);
  if (execution.ThreadID) system.ThreadID = Number(execution.ThreadID);
  const userId = attrs(sys.Security).UserID;
  if (userId) system.UserID = userId;

  const data: Record<string, string | string[]> = {};
  const ed = parsed.EventData;
  if (ed && typeof ed === 'object') {
    const raw = (ed as Record<string, unknown>).Data;
    const items = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const unnamed: string[] = [];
    for (const item of items) {
      const name = attrs(item).Name;
      const value = text(item) ?? '';
      if (name) data[name] = value;
      else unnamed.push(value);
    }
    // Classic (pre-Vista style) events carry positional strings.
    if (unnamed.length) data.Data = unnamed;
  }
  const ud = parsed.UserData;
  if (ud && typeof ud === 'object') {
    for (const inner of Object.values(ud as Record<string, unknown>)) {
      if (!inner || typeof inner !== 'object') continue;
      for (const [k, v] of Object.entries(inner as Record<string, unknown>)) {
        if (k === '$') continue;
        const t = text(v);
        if (t !== undefined) data[k] = t;
      }
    }
  }
  return { System: system, EventData: data };
}

/** Splits wevtutil XML output (with or without an <Events> root) into its <Event> elements. */
export function splitEvents(xml: string): string[] {
  return xml.match(/<Event[\s>][\s\S]*?<\/Event>/g) ?? [];
}

export async function parseWevtutilXml(xml: string): Promise<Array<{ xml: string; record: WindowsEventRecord }>> {
  const out: Array<{ xml: string; record: WindowsEventRecord }> = [];
  for (const one of splitEvents(xml)) {
    const doc = (await parseStringPromise(one, { explicitArray: false, attrkey: '$', charkey: '_' })) as { Event?: unknown };
    const ev = xmlNodeSchema.safeParse(doc.Event);
    if (!ev.success || typeof ev.data === 'string') continue;
    out.push({ xml: one, record: normaliseWindowsEvent(ev.data as Record<string, unknown>) });
  }
  return out;
}

const SKIP_USER = new Set(['', '-', 'SYSTEM', 'LOCAL SERVICE', 'NETWORK SERVICE']);

export function windowsEventToAgentEvent(rec: { xml: string; record: WindowsEventRecord }, host: HostIdentity): CollectedEvent {
  const { System, EventData } = rec.record;
  const event = baseEvent(host, 'windows_event', System.TimeCreated);
  if (System.Computer) event.host = System.Computer;
  const user = [EventData.TargetUserName, EventData.SubjectUserName, EventData.User].find((u) => typeof u === 'string' && !SKIP_USER.has(u));
  if (typeof user === 'string') event.user = user;
  // The contract's windows_event carries the record as raw.Event (System + EventData); the server maps it.
  event.raw = { Event: rec.record };
  event.message = `${System.Channel} ${System.EventID} from ${System.Provider}`;
  // Sysmon and Security levels: 1 critical, 2 error, 3 warning; audit failures are interesting too.
  if (System.Level === 1) event.severity = 8;
  else if (System.Level === 2) event.severity = 6;
  else if (System.Level === 3) event.severity = 4;
  return event;
}

/**
 * WindowsEventLogCollector: `wevtutil qe <channel> /q:*[System[(EventRecordID>N)]] /f:xml`, parsed with
 * xml2js, one EventRecordID cursor per channel. A channel seen for the first time starts at its newest
 * record (no history flood). Without wevtutil (not Windows) it logs once and stays idle.
 */
export class WindowsEventLogCollector implements Collector {
  private readonly loop: PollLoop;
  private cursor: Record<string, number> = {};
  private disabled = false;

  constructor(
    readonly id: string,
    private readonly config: Pick<WindowsInputConfig, 'channels' | 'poll_ms' | 'batch'>,
    private readonly ctx: CollectorContext,
    private readonly run: CommandRunner = runCommand,
  ) {
    this.loop = new PollLoop(config.poll_ms, () => this.poll(), (err) => ctx.log.warn({ err }, 'wevtutil poll failed'));
  }

  async start(): Promise<void> {
    const parsed = windowsCursorSchema.safeParse(this.ctx.sink.cursor());
    if (parsed.success) this.cursor = { ...parsed.data.channels };
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  private async query(args: string[]): Promise<string | null> {
    try {
      const r = await this.run('wevtutil', args);
      if (r.code !== 0) {
        this.ctx.log.warn({ args, stderr: r.stderr.trim().slice(0, 200) }, 'wevtutil failed');
        return null;
      }
      return r.stdout;
    } catch (err) {
      if (isMissingProgram(err)) {
        this.ctx.log.info('wevtutil not found (not Windows); Windows Event Log input skipped');
        this.disabled = true;
        return null;
      }
      throw err;
    }
  }

  async poll(): Promise<void> {
    for (const channel of this.config.channels) {
      if (this.disabled) return;
      const after = this.cursor[channel];
      if (after === undefined) {
        const newest = await this.query(['qe', channel, '/c:1', '/rd:true', '/f:xml']);
        if (newest === null) continue;
        const [top] = await parseWevtutilXml(newest);
        const next = { ...this.cursor, [channel]: top?.record.System.EventRecordID ?? 0 };
        if (this.ctx.sink.write([], { channels: next })) this.cursor = next;
        continue;
      }
      const xml = await this.query(['qe', channel, `/q:*[System[(EventRecordID>${after})]]`, '/f:xml', `/c:${this.config.batch}`, '/e:Events']);
      if (xml === null) continue;
      const records = (await parseWevtutilXml(xml)).filter((r) => r.record.System.EventRecordID > after);
      if (!records.length) continue;
      const last = Math.max(...records.map((r) => r.record.System.EventRecordID));
      const next = { ...this.cursor, [channel]: last };
      if (this.ctx.sink.write(records.map((r) => windowsEventToAgentEvent(r, this.ctx.host)), { channels: next })) this.cursor = next;
    }
  }
}
