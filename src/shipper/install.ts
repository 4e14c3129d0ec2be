import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const SERVICE_NAME = 'nyx-ship';
export const WINDOWS_SERVICE_NAME = 'NyxShip';

export interface UnitOptions {
  /** The program that runs the shipper (node), and the script with its arguments before `ship`. */
  node: string;
  script: string;
  config: string;
  user?: string;
}

/** A systemd unit that restarts the shipper on failure; kill -9 is safe, so stops may be abrupt. */
export function systemdUnit(o: UnitOptions): string {
  return `[Unit]
Description=Nyx endpoint shipper
Documentation=https://github.com/nyx/nyx
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${o.node} ${o.script} ship --config ${o.config}
Restart=always
RestartSec=5
${o.user ? `User=${o.user}\n` : ''}Environment=NYX_LOG_LEVEL=info
# The queue survives SIGKILL, so a stop need not wait long.
TimeoutStopSec=20
Nice=5
IOSchedulingClass=idle
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;
}

export interface InstallResult {
  unitPath: string;
  unit: string;
  enabled: boolean;
}

/**
 * Writes the unit under root (default /) and, when root is /, enables and starts it.
 * A --root other than / is for packaging and tests: nothing is enabled there.
 */
export function installSystemdUnit(o: UnitOptions & { root?: string; enable?: boolean }): InstallResult {
  const root = resolve(o.root ?? '/');
  const unitPath = join(root, 'etc/systemd/system', `${SERVICE_NAME}.service`);
  const unit = systemdUnit(o);
  mkdirSync(dirname(unitPath), { recursive: true });
  writeFileSync(unitPath, unit, { mode: 0o644 });
  const enable = (o.enable ?? true) && root === '/';
  if (enable) {
    execFileSync('systemctl', ['daemon-reload'], { stdio: 'inherit' });
    execFileSync('systemctl', ['enable', '--now', SERVICE_NAME], { stdio: 'inherit' });
  }
  return { unitPath, unit, enabled: enable };
}

/** PowerShell lines that install the shipper as a Windows service with NSSM (what install.ps1 runs). */
export function nssmCommands(o: { node: string; script: string; config: string; logDir: string; nssm?: string }): string[] {
  const nssm = o.nssm ?? 'nssm.exe';
  const q = (s: string): string => `"${s.replace(/"/g, '`"')}"`;
  return [
    `& ${q(nssm)} install ${WINDOWS_SERVICE_NAME} ${q(o.node)} ${q(o.script)} ship --config ${q(o.config)}`,
    `& ${q(nssm)} set ${WINDOWS_SERVICE_NAME} AppDirectory ${q(dirname(o.script.replace(/\\/g, '/')).replace(/\//g, '\\'))}`,
    `& ${q(nssm)} set ${WINDOWS_SERVICE_NAME} DisplayName "Nyx endpoint shipper"`,
    `& ${q(nssm)} set ${WINDOWS_SERVICE_NAME} Start SERVICE_AUTO_START`,
    `& ${q(nssm)} set ${WINDOWS_SERVICE_NAME} AppStdout ${q(`${o.logDir}\\ship.log`)}`,
    `& ${q(nssm)} set ${WINDOWS_SERVICE_NAME} AppStderr ${q(`${o.logDir}\\ship.log`)}`,
    `& ${q(nssm)} set ${WINDOWS_SERVICE_NAME} AppRotateFiles 1`,
    `& ${q(nssm)} set ${WINDOWS_SERVICE_NAME} AppRotateBytes 10485760`,
    `& ${q(nssm)} set ${WINDOWS_SERVICE_NAME} AppExit Default Restart`,
    `& ${q(nssm)} start ${WINDOWS_SERVICE_NAME}`,
  ];
}
