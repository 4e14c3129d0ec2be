import { resolve } from 'node:path';
import type { Command } from 'commander';
import { NyxError } from '../../errors.ts';
import { loadShipperConfig, outputTarget } from '../../shipper/config.ts';
import { formatStatus, readStatus } from '../../shipper/status.ts';
import { installSystemdUnit, nssmCommands, systemdUnit } from '../../shipper/install.ts';
import { jsonForTerminal, printLine } from '../terminal.ts';

const DEFAULT_SHIP_CONFIG = process.platform === 'win32' ? 'C:\\ProgramData\\Nyx\\config.yml' : '/etc/nyx-ship/config.yml';

/** `--config` is also nyx's global option; whichever caught it, this is the shipper's config file. */
function shipConfigPath(cmd: Command): string {
  const opts = cmd.optsWithGlobals() as { config?: string };
  return resolve(opts.config ?? process.env.NYX_SHIP_CONFIG ?? DEFAULT_SHIP_CONFIG);
}

export interface ShipCommandOptions {
  /** `nyx agent bundle` needs the Nyx sources; the standalone shipper leaves it out. */
  bundle?: (agent: Command) => void;
}

export function registerShipCommands(program: Command, options: ShipCommandOptions = {}): void {
  const ship = program
    .command('ship')
    .description('the endpoint shipper: tail files, journald, /proc and the Windows Event Log into `nyx serve` (or straight into Elasticsearch with output.elasticsearch)')
    .option('-c, --config <file>', `shipper config (default ${DEFAULT_SHIP_CONFIG}, or NYX_SHIP_CONFIG)`)
    .action(async (_opts, cmd: Command) => {
      const config = loadShipperConfig(shipConfigPath(cmd));
      const { Shipper } = await import('../../shipper/shipper.ts');
      const shipper = new Shipper(config);
      await shipper.start();
      process.stderr.write(`nyx ship: shipping to ${outputTarget(config)} (state in ${config.state_dir})\n`);
      await new Promise<void>((resolveStop, rejectStop) => {
        let stopping = false;
        const stop = (): void => {
          if (stopping) return;
          stopping = true;
          shipper.stop().then(resolveStop, rejectStop);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        shipper.enrolled().catch((err: unknown) => {
          stopping = true;
          shipper.stop().finally(() => rejectStop(err));
        });
      });
    });

  ship
    .command('status')
    .description('events read / queued / sent / retried / dropped and queue depth and age, from the state dir')
    .option('-c, --config <file>', 'shipper config (to find its state dir)')
    .option('--state-dir <dir>', 'read this state dir instead of the config')
    .option('--json', 'print the status file as JSON')
    .action((opts: { stateDir?: string; json?: boolean }, cmd: Command) => {
      const stateDir = opts.stateDir ? resolve(opts.stateDir) : loadShipperConfig(shipConfigPath(cmd)).state_dir;
      const status = readStatus(stateDir);
      if (!status) throw new NyxError(`no shipper status in ${stateDir}`, 'has `nyx ship` run with this config?');
      if (opts.json) console.log(jsonForTerminal(status, 2));
      // The last error may quote what a server answered: each line is escaped like any other outside text.
      else for (const line of formatStatus(status).split('\n')) printLine(line);
    });

  const agent = program.command('agent').description('install the shipper as a service, or build agent bundles');
  agent
    .command('install')
    .description('write and enable the systemd unit (Linux), or print the NSSM service commands (Windows)')
    .option('-c, --config <file>', 'shipper config the service runs with')
    .option('--platform <platform>', 'linux or windows (default: this machine)')
    .option('--dry-run', 'print the unit (or the NSSM commands) instead of installing')
    .option('--root <dir>', 'write under this root instead of / (nothing is enabled then)')
    .option('--no-enable', 'write the unit but do not enable or start it')
    .option('--user <name>', 'run the service as this user (default root: /var/log and /proc need it)')
    .action((opts: { platform?: string; dryRun?: boolean; root?: string; enable: boolean; user?: string }, cmd: Command) => {
      const config = shipConfigPath(cmd);
      const platform = opts.platform ?? (process.platform === 'win32' ? 'windows' : 'linux');
      const script = resolve(process.argv[1] ?? 'nyx');
      if (platform === 'windows') {
        for (const line of nssmCommands({ node: process.execPath, script, config, logDir: 'C:\\ProgramData\\Nyx' })) console.log(line);
        return;
      }
      if (platform !== 'linux') throw new NyxError(`--platform: expected linux or windows, got ${platform}`);
      loadShipperConfig(config); // refuse to install a service whose config would not start
      const unitOptions = { node: process.execPath, script, config, ...(opts.user ? { user: opts.user } : {}) };
      if (opts.dryRun) {
        process.stdout.write(systemdUnit(unitOptions));
        return;
      }
      const r = installSystemdUnit({ ...unitOptions, ...(opts.root ? { root: opts.root } : {}), enable: opts.enable });
      console.log(`wrote ${r.unitPath}${r.enabled ? '; enabled and started nyx-ship' : ''}`);
    });
  options.bundle?.(agent);
}
