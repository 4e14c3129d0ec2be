import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync, openSync, chownSync, statSync, cpSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { NyxError } from '../errors.ts';
import { getLogger } from '../log/logger.ts';

/**
 * Launches a real single-node Elasticsearch 9.x from the minimal distribution Elastic publishes
 * to Maven Central. Used by `nyx es start`, `nyx up` (when no cluster is configured) and the tests.
 */

const ARTIFACT_GROUP = 'org.elasticsearch.distribution.integ-test-zip';
const log = getLogger('local-node');

export interface LocalNodeOptions {
  version: string;
  heap: string;
  /** Where distributions and node data live; must be traversable by the unprivileged user. */
  home?: string;
  /** One node per name: `default` for `nyx es start`, `test` for the suite. */
  name?: string;
  /** Start with empty data (the test suite does). */
  fresh?: boolean;
  /**
   * HTTP port to listen on; default a free one. A restart that must come back on the same URL
   * (clients already configured with it) passes the port of the previous run.
   */
  port?: number;
  healthTimeoutMs?: number;
  onProgress?: (line: string) => void;
}

export interface LocalNodeState {
  name: string;
  pid: number;
  url: string;
  version: string;
  startedAt: string;
  logFile: string;
  dataDir: string;
}

export function defaultNyxHome(): string {
  if (process.env.NYX_HOME) return process.env.NYX_HOME;
  // root's home is private (0700): the unprivileged user that runs the node could not read a cache there.
  if (process.getuid?.() === 0) return '/var/lib/nyx';
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nyx');
}

function nodeDir(home: string, name: string): string {
  return join(home, 'nodes', name);
}

function stateFile(home: string, name: string): string {
  return join(nodeDir(home, name), 'node.json');
}

/** Finds a JDK >= 21: ES_JAVA_HOME, JAVA_HOME, then every JDK under /usr/lib/jvm and /opt. */
export function findJdk(): { home: string; major: number } {
  const candidates = new Set<string>();
  for (const v of [process.env.ES_JAVA_HOME, process.env.JAVA_HOME]) if (v) candidates.add(v);
  for (const root of ['/usr/lib/jvm', '/opt', '/usr/local/lib/jvm']) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root)) candidates.add(join(root, entry));
  }
  let best: { home: string; major: number } | undefined;
  for (const home of candidates) {
    const java = join(home, 'bin', 'java');
    if (!existsSync(java)) continue;
    const out = spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 10_000 });
    const match = /version "(\d+)(?:\.(\d+))?/.exec(`${out.stderr}${out.stdout}`);
    if (!match) continue;
    let major = Number(match[1]);
    if (major === 1 && match[2]) major = Number(match[2]);
    if (major >= 21 && (!best || major > best.major)) best = { home, major };
  }
  if (!best) {
    throw new NyxError(
      'no JDK 21 or newer found for the local Elasticsearch (looked at ES_JAVA_HOME, JAVA_HOME, /usr/lib/jvm, /opt)',
      'install one (e.g. Debian openjdk-21-jdk-headless or a Temurin JDK) or set ES_JAVA_HOME',
    );
  }
  return best;
}

function which(cmd: string): string | undefined {
  const out = spawnSync('sh', ['-c', 'command -v "$0"', cmd], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/** Fetches (with mvn) and unpacks the distribution once; later calls reuse the cache. */
export function ensureDistribution(version: string, home: string, progress: (line: string) => void = () => {}): string {
  const distDir = join(home, 'dist', `elasticsearch-${version}`);
  if (existsSync(join(distDir, 'bin', 'elasticsearch'))) return distDir;
  const mvn = which('mvn');
  if (!mvn) throw new NyxError('mvn not found: it fetches the Elasticsearch distribution from Maven Central', 'install Maven (Debian package maven)');
  const repo = join(home, 'm2');
  const zip = join(repo, ...ARTIFACT_GROUP.split('.'), 'elasticsearch', version, `elasticsearch-${version}.zip`);
  if (!existsSync(zip)) {
    progress(`fetching Elasticsearch ${version} from Maven Central (about 100 MB, once)…`);
    const out = spawnSync(
      mvn,
      ['-q', '-B', `-Dmaven.repo.local=${repo}`, 'dependency:get', `-Dartifact=${ARTIFACT_GROUP}:elasticsearch:${version}:zip`, '-Dtransitive=false'],
      { encoding: 'utf8', timeout: 15 * 60_000 },
    );
    if (out.status !== 0 || !existsSync(zip)) {
      const why = `${out.stdout}${out.stderr}`.split('\n').find((l) => l.includes('ERROR')) ?? `exit ${out.status}`;
      throw new NyxError(`mvn could not fetch Elasticsearch ${version}: ${why.replace(/\x1b\[[0-9;]*m/g, '').trim()}`);
    }
  }
  progress(`unpacking Elasticsearch ${version}…`);
  const staging = `${distDir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const unzip = which('unzip');
  if (unzip) execFileSync(unzip, ['-q', zip, '-d', staging]);
  else {
    const jdk = findJdk();
    execFileSync(join(jdk.home, 'bin', 'jar'), ['xf', zip], { cwd: staging });
    execFileSync('chmod', ['-R', 'a+rX,u+w', staging]);
    execFileSync('sh', ['-c', 'chmod a+x "$0"/*/bin/*', staging]);
  }
  const inner = join(staging, `elasticsearch-${version}`);
  rmSync(distDir, { recursive: true, force: true });
  cpSync(inner, distDir, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  rmSync(staging, { recursive: true, force: true });
  return distDir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** The unprivileged account the node runs as when Nyx itself runs as root (Elasticsearch refuses root). */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = process.env.NYX_ES_USER ?? 'nobody';
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new NyxError(`running as root, and the unprivileged user ${user} for Elasticsearch does not exist`, 'set NYX_ES_USER to an existing user');
  }
}

function chownTree(path: string, owner: { uid: number; gid: number }): void {
  execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, path]);
}

function assertTraversable(path: string): void {
  // Every parent must be world-executable or the unprivileged user cannot reach the node's files.
  let dir = path;
  while (dir !== dirname(dir)) {
    dir = dirname(dir);
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) {
      throw new NyxError(`${path} is under ${dir}, which the unprivileged Elasticsearch user cannot enter`, 'set NYX_HOME to a directory such as /var/lib/nyx');
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readLocalNode(name = 'default', home = defaultNyxHome()): LocalNodeState | undefined {
  const file = stateFile(home, name);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as LocalNodeState;
  return isAlive(state.pid) ? state : undefined;
}

async function clusterHealthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=2s`, { signal: AbortSignal.timeout(4000) });
    if (res.status !== 200) return false;
    const body = (await res.json()) as { status?: string };
    return body.status === 'green' || body.status === 'yellow';
  } catch {
    return false;
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts the node in its own process group (it outlives the command that started it) and waits,
 * bounded, for health. If one with the same name is already running, returns it.
 */
export async function startLocalNode(options: LocalNodeOptions): Promise<LocalNodeState> {
  const home = options.home ?? defaultNyxHome();
  const name = options.name ?? 'default';
  const progress = options.onProgress ?? (() => {});
  const running = readLocalNode(name, home);
  if (running && (await clusterHealthy(running.url))) return running;
  if (running) await stopLocalNode(name, home);

  mkdirSync(home, { recursive: true, mode: 0o755 });
  const owner = unprivilegedUser();
  if (owner) assertTraversable(home);
  const jdk = findJdk();
  const dist = ensureDistribution(options.version, home, progress);

  const dir = nodeDir(home, name);
  if (options.fresh) rmSync(dir, { recursive: true, force: true });
  const dataDir = join(dir, 'data');
  const logsDir = join(dir, 'logs');
  const confDir = join(dir, 'config');
  const tmpDir = join(dir, 'tmp');
  for (const d of [dataDir, logsDir, tmpDir]) mkdirSync(d, { recursive: true });
  // A private copy of config/: the node writes its keystore there.
  if (!existsSync(join(confDir, 'jvm.options'))) cpSync(join(dist, 'config'), confDir, { recursive: true });
  if (owner) chownTree(dir, owner);

  const port = options.port ?? (await freePort());
  const transportPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const consoleLog = join(logsDir, 'console.log');
  const out = openSync(consoleLog, 'a');
  const args = [
    `-Epath.data=${dataDir}`,
    `-Epath.logs=${logsDir}`,
    `-Ehttp.port=${port}`,
    `-Etransport.port=${transportPort}`,
    '-Enetwork.host=127.0.0.1',
    '-Ediscovery.type=single-node',
    `-Ecluster.name=nyx-${name}`,
    `-Enode.name=nyx-${name}`,
    '-Expack.security.enabled=false',
    '-Ecluster.routing.allocation.disk.threshold_enabled=false',
    '-Eaction.destructive_requires_name=false',
    // One namespace per test (and per tenant on a small site) means many small data streams on one node.
    '-Ecluster.max_shards_per_node=20000',
  ];
  progress(`starting Elasticsearch ${options.version} on ${url} (JDK ${jdk.major})…`);
  const child = spawn(join(dist, 'bin', 'elasticsearch'), args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ES_JAVA_HOME: jdk.home,
      ES_PATH_CONF: confDir,
      ES_TMPDIR: tmpDir,
      ES_JAVA_OPTS: `-Xms${options.heap} -Xmx${options.heap}`,
      HOME: dir,
    },
    ...(owner ?? {}),
  });
  child.unref();
  const pid = child.pid;
  if (!pid) throw new NyxError(`could not start Elasticsearch (log: ${consoleLog})`);
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  const state: LocalNodeState = { name, pid, url, version: options.version, startedAt: new Date().toISOString(), logFile: consoleLog, dataDir };
  writeFileSync(stateFile(home, name), JSON.stringify(state, null, 2));

  const deadline = Date.now() + (options.healthTimeoutMs ?? 180_000);
  while (Date.now() < deadline) {
    if (exited !== null) {
      throw new NyxError(`Elasticsearch exited during start (code ${exited}); its log is ${consoleLog}:\n${tail(consoleLog, 15)}`);
    }
    if (await clusterHealthy(url)) {
      log.info({ url, pid }, 'local Elasticsearch is up');
      return state;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  await stopLocalNode(name, home);
  throw new NyxError(`Elasticsearch did not become healthy within ${Math.round((options.healthTimeoutMs ?? 180_000) / 1000)}s; its log is ${consoleLog}`);
}

/** Stops the node (SIGTERM to its process group, then SIGKILL after a bounded wait). */
export async function stopLocalNode(name = 'default', home = defaultNyxHome()): Promise<LocalNodeState | undefined> {
  const state = readLocalNode(name, home);
  if (!state) return undefined;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-state.pid, sig);
    } catch {
      try {
        process.kill(state.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 30_000;
  while (isAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (isAlive(state.pid)) signal('SIGKILL');
  rmSync(stateFile(home, name), { force: true });
  return state;
}
