import { z } from 'zod';
import type { CollectedEvent } from '../event.ts';
import { isMissingProgram, runCommand, type CommandRunner } from './command.ts';
import { baseEvent, PollLoop, type Collector, type CollectorContext } from './types.ts';

const softwareCursorSchema = z.object({ last_run: z.number() });

export interface InstalledPackage {
  name: string;
  version: string;
  arch: string;
  manager: 'dpkg' | 'rpm';
}

export function parsePackageList(text: string, manager: InstalledPackage['manager']): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const line of text.split('\n')) {
    const [name, version, arch, status] = line.split('\t');
    if (!name || !version) continue;
    // dpkg lists removed-but-configured packages too; only "install ok installed" counts.
    if (manager === 'dpkg' && status !== undefined && !/ installed$/.test(status)) continue;
    out.push({ name, version, arch: arch ?? '', manager });
  }
  return out;
}

/** The installed packages, from dpkg-query or else rpm; [] with neither. */
export async function listInstalledPackages(run: CommandRunner = runCommand): Promise<InstalledPackage[] | null> {
  try {
    const r = await run('dpkg-query', ['-W', '-f=${Package}\t${Version}\t${Architecture}\t${Status}\n']);
    if (r.code === 0) return parsePackageList(r.stdout, 'dpkg');
  } catch (err) {
    if (!isMissingProgram(err)) throw err;
  }
  try {
    const r = await run('rpm', ['-qa', '--qf', '%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\n']);
    if (r.code === 0) return parsePackageList(r.stdout, 'rpm');
  } catch (err) {
    if (!isMissingProgram(err)) throw err;
  }
  return null;
}

/** SoftwareInventoryCollector: once per interval (a day by default) one `software` event per installed package. */
export class SoftwareInventoryCollector implements Collector {
  private readonly loop: PollLoop;
  private lastRun = 0;

  constructor(
    readonly id: string,
    private readonly intervalMs: number,
    private readonly ctx: CollectorContext,
    private readonly run: CommandRunner = runCommand,
  ) {
    // Checks hourly whether a run is due, so a restart does not re-run the inventory early.
    this.loop = new PollLoop(Math.min(intervalMs, 3600_000), () => this.poll(), (err) => ctx.log.warn({ err }, 'software inventory failed'));
  }

  async start(): Promise<void> {
    const parsed = softwareCursorSchema.safeParse(this.ctx.sink.cursor());
    if (parsed.success) this.lastRun = parsed.data.last_run;
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  async poll(): Promise<void> {
    const now = Date.now();
    if (now - this.lastRun < this.intervalMs) return;
    const pkgs = await listInstalledPackages(this.run);
    if (!pkgs) {
      this.ctx.log.info('neither dpkg-query nor rpm found; software inventory skipped');
      this.lastRun = now;
      return;
    }
    const ts = new Date(now).toISOString();
    const events: CollectedEvent[] = pkgs.map((p) => {
      const event = baseEvent(this.ctx.host, 'software', ts);
      Object.assign(event, { package: { name: p.name, version: p.version, architecture: p.arch, type: p.manager === 'dpkg' ? 'deb' : 'rpm' }, inventory_run: ts });
      event.raw = `${p.name}\t${p.version}\t${p.arch}`;
      event.message = `installed: ${p.name} ${p.version}`;
      return event;
    });
    if (this.ctx.sink.write(events, { last_run: now })) this.lastRun = now;
  }
}
