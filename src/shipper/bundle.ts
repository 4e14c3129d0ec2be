import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { NyxError } from '../errors.ts';
import { tarGz, zip, type ArchiveEntry } from './archive.ts';
import { nssmCommands, systemdUnit } from './install.ts';

export type BundlePlatform = 'linux' | 'windows';

export interface BundleContent {
  platform: BundlePlatform;
  namespace: string;
  server: string;
  /** The enrollment token embedded in the bundle (a secret: never logged). */
  token: string;
}

export interface BundleOptions extends BundleContent {
  out: string;
}

export interface BundleArchive {
  /** The conventional file name, e.g. nyx-agent-linux-acme.tar.gz. */
  filename: string;
  contentType: string;
  data: Buffer;
  sha256: string;
  files: string[];
}

export interface BundleResult {
  path: string;
  sha256: string;
  bytes: number;
  files: string[];
}

export function bundleFilename(platform: BundlePlatform, namespace: string): string {
  return `nyx-agent-${platform}-${namespace}.${platform === 'linux' ? 'tar.gz' : 'zip'}`;
}

const ENTRY = fileURLToPath(new URL('./standalone.ts', import.meta.url));

/**
 * Direct mode (output.elasticsearch) runs the ingest API's own code in the shipper, and the standalone
 * shipper leaves it out (and says so; `nyx ship` from a Nyx installation has it). Measured when this was
 * last weighed, bundling it as it is:
 *  - it would not run: the source pipelines (pipelines/*.yml, via src/assets/catalog.ts) and the grok
 *    pattern bank (src/pipeline-runner/grok.ts) are files read at run time from paths relative to their
 *    source files, i.e. from the Nyx checkout, which a single-file bundle does not have ("asset folder …
 *    not found"); GeoIP (cowrie, netflow and Beats pipelines) reads the 45 MB @ip-location-db databases
 *    from node_modules;
 *  - it would be heavy: the script grows from 0.85 MB to 2.2 MB (Elasticsearch client, undici, pipeline
 *    runner), and a direct-mode shipper that runs the pipelines itself adds about 70 MB of RSS (client
 *    ~30 MB, compiled pipelines ~40 MB) to the ~135 MB peak, past the endpoint shipper's 150 MB target.
 */
const DIRECT_OUTPUT_STUB = `export class DirectElasticsearchOutput {
  constructor() {
    throw new Error('output.elasticsearch (direct mode) is not in the standalone nyx-ship.mjs: run "nyx ship" from a Nyx installation, or ship to "nyx serve" with server:');
  }
}
`;

const leaveOutDirectOutput: import('esbuild').Plugin = {
  name: 'nyx-leave-out-direct-output',
  setup(build) {
    build.onResolve({ filter: /[/\\]direct-output\.ts$|^\.\/direct-output\.ts$/ }, (a) => ({ path: a.path, namespace: 'nyx-direct-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'nyx-direct-stub' }, () => ({ contents: DIRECT_OUTPUT_STUB, loader: 'js' }));
  },
};

let cachedShipper: Promise<Buffer> | undefined;

/** The shipper script, built once per process (a server serving many downloads pays esbuild once). */
export function shipperScript(): Promise<Buffer> {
  cachedShipper ??= buildShipperScript().catch((err: unknown) => {
    cachedShipper = undefined;
    throw err;
  });
  return cachedShipper;
}

/** The shipper as one self-contained ESM file (Node ≥ 20 is all it needs), built with esbuild. */
export async function buildShipperScript(): Promise<Buffer> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new NyxError('esbuild is not installed (it comes with tsx)', 'run `npm ci` in the Nyx checkout');
  }
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    write: false,
    legalComments: 'none',
    // CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __nyxCreateRequire } from 'node:module'; const require = __nyxCreateRequire(import.meta.url);" },
    logLevel: 'silent',
    plugins: [leaveOutDirectOutput],
  });
  const file = result.outputFiles[0];
  if (!file) throw new NyxError('building the shipper produced no output');
  return Buffer.from(file.contents);
}

function linuxConfig(o: BundleContent): string {
  return `# Nyx shipper (tenant: ${o.namespace}). Edit inputs as needed; see README-quickstart.txt.\n${toYaml({
    server: o.server,
    enrollment_token_file: 'enrollment.token',
    state_dir: '/var/lib/nyx-ship',
    inputs: [
      { type: 'files', paths: ['/var/log/auth.log', '/var/log/syslog', '/var/log/secure', '/var/log/messages'], format: 'syslog' },
      { type: 'journald' },
      { type: 'telemetry', interval_ms: 30_000 },
      { type: 'processes', interval_ms: 10_000 },
      { type: 'network', interval_ms: 15_000 },
    ],
    output: { batch_size: 500, flush_interval_ms: 1000 },
    queue: { max_events: 1_000_000, policy: 'drop_oldest' },
  })}`;
}

function windowsConfig(o: BundleContent): string {
  return `# Nyx shipper (tenant: ${o.namespace}). Edit inputs as needed; see README-quickstart.txt.\n${toYaml({
    server: o.server,
    enrollment_token_file: 'enrollment.token',
    state_dir: 'C:\\ProgramData\\Nyx\\state',
    inputs: [{ type: 'wineventlog', channels: ['Security', 'System', 'Application', 'Microsoft-Windows-Sysmon/Operational'] }],
    output: { batch_size: 500, flush_interval_ms: 1000 },
    queue: { max_events: 1_000_000, policy: 'drop_oldest' },
  })}`;
}

const INSTALL_SH = `#!/bin/sh
# Installs the Nyx shipper as a systemd service. Run as root from the unpacked bundle.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
node=$(command -v node || true)
[ -n "$node" ] || { echo "install.sh: Node.js >= 20 is required (apt install nodejs)" >&2; exit 1; }
major=$("$node" -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "install.sh: Node.js >= 20 is required, found $major" >&2; exit 1; }
install -d -m 0755 /opt/nyx-ship
install -m 0755 "$here/nyx-ship.mjs" /opt/nyx-ship/nyx-ship.mjs
install -d -m 0700 /etc/nyx-ship /var/lib/nyx-ship
[ -f /etc/nyx-ship/config.yml ] || install -m 0600 "$here/config.yml" /etc/nyx-ship/config.yml
install -m 0600 "$here/enrollment.token" /etc/nyx-ship/enrollment.token
"$node" /opt/nyx-ship/nyx-ship.mjs agent install --config /etc/nyx-ship/config.yml
echo "Nyx shipper installed: systemctl status nyx-ship; status: $node /opt/nyx-ship/nyx-ship.mjs ship status --config /etc/nyx-ship/config.yml"
`;

function installPs1(): string {
  const lines = nssmCommands({
    node: 'C:\\Program Files\\nodejs\\node.exe',
    script: 'C:\\Program Files\\Nyx\\nyx-ship.mjs',
    config: 'C:\\ProgramData\\Nyx\\config.yml',
    logDir: 'C:\\ProgramData\\Nyx',
  });
  return `# Installs the Nyx shipper as a Windows service with NSSM (https://nssm.cc). Run as Administrator.
$ErrorActionPreference = 'Stop'
$here = Split-Path -Parent $MyInvocation.MyCommand.Path
if (-not (Get-Command node.exe -ErrorAction SilentlyContinue)) { throw 'Node.js >= 20 is required (winget install OpenJS.NodeJS.LTS)' }
if (-not (Get-Command nssm.exe -ErrorAction SilentlyContinue)) { throw 'NSSM is required (winget install NSSM.NSSM), or put nssm.exe on PATH' }
New-Item -ItemType Directory -Force -Path 'C:\\Program Files\\Nyx', 'C:\\ProgramData\\Nyx\\state' | Out-Null
Copy-Item "$here\\nyx-ship.mjs" 'C:\\Program Files\\Nyx\\nyx-ship.mjs' -Force
if (-not (Test-Path 'C:\\ProgramData\\Nyx\\config.yml')) { Copy-Item "$here\\config.yml" 'C:\\ProgramData\\Nyx\\config.yml' }
Copy-Item "$here\\enrollment.token" 'C:\\ProgramData\\Nyx\\enrollment.token' -Force
icacls 'C:\\ProgramData\\Nyx' /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' | Out-Null
${lines.join('\n')}
Write-Host 'Nyx shipper installed as service NyxShip.'
`;
}

function readme(o: BundleContent): string {
  const linux = o.platform === 'linux';
  return `Nyx endpoint shipper - quick start (tenant: ${o.namespace})
=====================================================

This bundle ships this host's logs and telemetry to ${o.server}.
It contains a one-time enrollment token valid for 24 hours: install within that time.
On first start the shipper enrolls, stores its own agent key (readable by root/SYSTEM only)
and no longer needs the token.

Requirements: Node.js 20 or newer${linux ? '' : ', and NSSM (https://nssm.cc) on PATH'}.

Install:
${linux ? '  tar xzf nyx-agent-linux-*.tar.gz && cd nyx-ship && sudo ./install.sh' : '  Expand-Archive nyx-agent-windows-*.zip; cd nyx-ship; powershell -ExecutionPolicy Bypass -File .\\install.ps1  (as Administrator)'}

Configuration: ${linux ? '/etc/nyx-ship/config.yml' : 'C:\\ProgramData\\Nyx\\config.yml'} (inputs, batch size, queue cap).
Health:        ${linux ? 'node /opt/nyx-ship/nyx-ship.mjs ship status --config /etc/nyx-ship/config.yml' : 'node "C:\\Program Files\\Nyx\\nyx-ship.mjs" ship status --config C:\\ProgramData\\Nyx\\config.yml'}
Service:       ${linux ? 'systemctl status nyx-ship' : 'Get-Service NyxShip'}

Events wait in a durable local queue while the server is unreachable; nothing already
queued is lost when the service is killed. Past the queue cap the oldest events are
dropped and counted (see "dropped" in the status).
`;
}

/** Builds the bundle archive in memory (what `GET /agents/downloads/bundle/<platform>` serves). */
export async function assembleAgentBundle(o: BundleContent, shipper?: Buffer): Promise<BundleArchive> {
  const script = shipper ?? (await shipperScript());
  const linux = o.platform === 'linux';
  const entries: ArchiveEntry[] = [
    { name: 'nyx-ship/nyx-ship.mjs', data: script, mode: 0o755 },
    { name: 'nyx-ship/config.yml', data: Buffer.from(linux ? linuxConfig(o) : windowsConfig(o)), mode: 0o600 },
    { name: 'nyx-ship/enrollment.token', data: Buffer.from(`${o.token}\n`), mode: 0o600 },
    linux
      ? { name: 'nyx-ship/install.sh', data: Buffer.from(INSTALL_SH), mode: 0o755 }
      : { name: 'nyx-ship/install.ps1', data: Buffer.from(installPs1().replace(/\n/g, '\r\n')), mode: 0o644 },
    { name: 'nyx-ship/README-quickstart.txt', data: Buffer.from(linux ? readme(o) : readme(o).replace(/\n/g, '\r\n')), mode: 0o644 },
  ];
  if (linux) entries.push({ name: 'nyx-ship/nyx-ship.service.example', data: Buffer.from(systemdUnit({ node: '/usr/bin/node', script: '/opt/nyx-ship/nyx-ship.mjs', config: '/etc/nyx-ship/config.yml' })), mode: 0o644 });
  const data = linux ? tarGz(entries) : zip(entries);
  return {
    filename: bundleFilename(o.platform, o.namespace),
    contentType: linux ? 'application/gzip' : 'application/zip',
    data,
    sha256: createHash('sha256').update(data).digest('hex'),
    files: entries.map((e) => e.name),
  };
}

/** Builds the bundle archive, writes it to o.out (mode 0600: it holds a live token), and returns its SHA-256. */
export async function buildAgentBundle(o: BundleOptions, shipper?: Buffer): Promise<BundleResult> {
  const archive = await assembleAgentBundle(o, shipper);
  writeFileSync(o.out, archive.data, { mode: 0o600 });
  return { path: o.out, sha256: archive.sha256, bytes: archive.data.length, files: archive.files };
}

/** What makes an enrollment token: AgentRegistry.createToken, seen through the little the bundle needs. */
export interface EnrollmentTokenIssuer {
  createToken(input: { namespace: string; ttlMs: number; description?: string }): Promise<{ token: string; record: { token_id: string; expires_at: string } }>;
}

/** A bundle's enrollment token lives 24 h: the README tells the operator to install within that time. */
export const BUNDLE_TOKEN_TTL_MS = 24 * 3_600_000;

export interface IssuedBundle extends BundleArchive {
  /** The id of the token created for this bundle (undefined when the caller supplied one). */
  tokenId?: string;
  tokenExpiresAt?: string;
}

/**
 * A bundle with a fresh 24 h enrollment token (or the given one): what `nyx agent bundle` writes and
 * `GET /agents/downloads/bundle/<platform>` serves, built by the same code.
 */
export async function issueAgentBundle(
  tokens: EnrollmentTokenIssuer | undefined,
  input: { platform: BundlePlatform; namespace: string; server: string; token?: string; description?: string },
): Promise<IssuedBundle> {
  if (input.token) return assembleAgentBundle({ platform: input.platform, namespace: input.namespace, server: input.server, token: input.token });
  if (!tokens) throw new NyxError('no enrollment token and no way to create one');
  // The shipper is built first: a failing build then leaves no unused token behind.
  const script = await shipperScript();
  const created = await tokens.createToken({ namespace: input.namespace, ttlMs: BUNDLE_TOKEN_TTL_MS, description: input.description ?? `agent bundle (${input.platform})` });
  const archive = await assembleAgentBundle({ platform: input.platform, namespace: input.namespace, server: input.server, token: created.token }, script);
  return { ...archive, tokenId: created.record.token_id, tokenExpiresAt: created.record.expires_at };
}
