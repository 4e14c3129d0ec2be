import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync, openSync, statSync, cpSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { NyxError } from '../errors.ts';
import { getLogger } from '../log/logger.ts';

/**
 * Launches a real Elasticsearch 9.x from the minimal distribution Elastic publishes to Maven Central:
 * one node (`nyx es start`, `nyx up` when no cluster is configured, the test suite) or a local cluster of
 * several on loopback (`nyx es start --nodes 3`, the fault tests).
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
  /** A cluster member's transport port: a restarted member comes back on the same one. */
  transportPort?: number;
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

/** The JVM flags, paths and environment one node of a local cluster is started with. */
interface NodeLaunch {
  /** Cluster name and node name, as Elasticsearch sees them. */
  clusterName: string;
  nodeName: string;
  dir: string;
  port: number;
  transportPort: number;
  /** Transport addresses of every member (multi-node only; a single node uses discovery.type=single-node). */
  seedHosts?: string[];
  /** Node names that may elect the first master: only on a cluster's very first start. */
  initialMasters?: string[];
  version: string;
  heap: string;
  home: string;
  progress: (line: string) => void;
}

interface SpawnedNode {
  state: LocalNodeState;
  /** The exit code once the process has ended, or null while it runs. */
  exitCode: () => number | null;
}

/** Prepares the node's directories and starts it in its own process group (it outlives the command that started it). */
async function spawnNode(launch: NodeLaunch): Promise<SpawnedNode> {
  const owner = unprivilegedUser();
  if (owner) assertTraversable(launch.home);
  const jdk = findJdk();
  const dist = ensureDistribution(launch.version, launch.home, launch.progress);
  const { dir } = launch;
  const dataDir = join(dir, 'data');
  const logsDir = join(dir, 'logs');
  const confDir = join(dir, 'config');
  const tmpDir = join(dir, 'tmp');
  for (const d of [dataDir, logsDir, tmpDir]) mkdirSync(d, { recursive: true });
  // A private copy of config/: the node writes its keystore there.
  if (!existsSync(join(confDir, 'jvm.options'))) cpSync(join(dist, 'config'), confDir, { recursive: true });
  if (owner) chownTree(dir, owner);

  const url = `http://127.0.0.1:${launch.port}`;
  const consoleLog = join(logsDir, 'console.log');
  const out = openSync(consoleLog, 'a');
  const discovery = launch.seedHosts
    ? [`-Ediscovery.seed_hosts=${launch.seedHosts.join(',')}`, ...(launch.initialMasters ? [`-Ecluster.initial_master_nodes=${launch.initialMasters.join(',')}`] : [])]
    : ['-Ediscovery.type=single-node'];
  const args = [
    `-Epath.data=${dataDir}`,
    `-Epath.logs=${logsDir}`,
    `-Ehttp.port=${launch.port}`,
    `-Etransport.port=${launch.transportPort}`,
    '-Enetwork.host=127.0.0.1',
    ...discovery,
    `-Ecluster.name=${launch.clusterName}`,
    `-Enode.name=${launch.nodeName}`,
    '-Expack.security.enabled=false',
    '-Ecluster.routing.allocation.disk.threshold_enabled=false',
    '-Eaction.destructive_requires_name=false',
    // One namespace per test (and per tenant on a small site) means many small data streams on one node.
    '-Ecluster.max_shards_per_node=20000',
  ];
  launch.progress(`starting Elasticsearch ${launch.version} ${launch.nodeName} on ${url} (JDK ${jdk.major})…`);
  const child = spawn(join(dist, 'bin', 'elasticsearch'), args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ES_JAVA_HOME: jdk.home,
      ES_PATH_CONF: confDir,
      ES_TMPDIR: tmpDir,
      ES_JAVA_OPTS: `-Xms${launch.heap} -Xmx${launch.heap}`,
      HOME: dir,
    },
    ...(owner ?? {}),
  });
  child.unref();
  closeSync(out);
  const pid = child.pid;
  if (!pid) throw new NyxError(`could not start Elasticsearch (log: ${consoleLog})`);
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  const state: LocalNodeState = { name: launch.nodeName, pid, url, version: launch.version, startedAt: new Date().toISOString(), logFile: consoleLog, dataDir, transportPort: launch.transportPort };
  return { state, exitCode: () => exited };
}

/** Waits, bounded, until `healthy()`; fails early with the log's tail when a node exits. */
async function waitHealthy(nodes: SpawnedNode[], healthy: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const node of nodes) {
      const code = node.exitCode();
      if (code !== null) {
        throw new NyxError(`Elasticsearch ${node.state.name} exited during start (code ${code}); its log is ${node.state.logFile}:\n${tail(node.state.logFile, 15)}`);
      }
    }
    if (await healthy()) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
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
  const dir = nodeDir(home, name);
  if (options.fresh) rmSync(dir, { recursive: true, force: true });
  const port = options.port ?? (await freePort());
  const node = await spawnNode({
    clusterName: `nyx-${name}`,
    nodeName: `nyx-${name}`,
    dir,
    port,
    transportPort: await freePort(),
    version: options.version,
    heap: options.heap,
    home,
    progress,
  });
  const { state } = node;
  const { transportPort: _transport, ...single } = state;
  writeFileSync(stateFile(home, name), JSON.stringify({ ...single, name }, null, 2));

  const timeoutMs = options.healthTimeoutMs ?? 180_000;
  if (await waitHealthy([node], () => clusterHealthy(state.url), timeoutMs)) {
    log.info({ url: state.url, pid: state.pid }, 'local Elasticsearch is up');
    return { ...single, name };
  }
  await stopLocalNode(name, home);
  throw new NyxError(`Elasticsearch did not become healthy within ${Math.round(timeoutMs / 1000)}s; its log is ${state.logFile}`);
}

/** Stops the node (SIGTERM to its process group, then SIGKILL after a bounded wait). */
export async function stopLocalNode(name = 'default', home = defaultNyxHome()): Promise<LocalNodeState | undefined> {
  const state = readLocalNode(name, home);
  if (!state) return undefined;
  await stopProcessGroup(state.pid, 30_000);
  rmSync(stateFile(home, name), { force: true });
  return state;
}

/** A local multi-node cluster: every member the launcher started, so stop/status/restart know them all. */
export interface LocalClusterState {
  name: string;
  version: string;
  heap: string;
  startedAt: string;
  /** Members in start order; a member whose process is gone keeps its ports and data dir for a restart. */
  nodes: Array<LocalNodeState & { transportPort: number; alive: boolean }>;
}

export interface LocalClusterOptions extends Omit<LocalNodeOptions, 'port'> {
  /** Members, 2 or more (one node is `startLocalNode`). */
  nodes: number;
}

function clusterStateFile(home: string, name: string): string {
  return join(nodeDir(home, name), 'cluster.json');
}

/** `nyx-<cluster>-<n>`: a name the suite's (`nyx-test`) and the shared (`nyx-shared`) nodes never use. */
function memberName(cluster: string, n: number): string {
  return `nyx-${cluster}-${n}`;
}

/** The cluster as last started, with which members still run; undefined when none was started under that name. */
export function readLocalCluster(name = 'default', home = defaultNyxHome()): LocalClusterState | undefined {
  const file = clusterStateFile(home, name);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as LocalClusterState;
  return { ...state, nodes: state.nodes.map((n) => ({ ...n, alive: isAlive(n.pid) })) };
}

function writeClusterState(home: string, state: LocalClusterState): void {
  writeFileSync(clusterStateFile(home, state.name), JSON.stringify({ ...state, nodes: state.nodes.map(({ alive: _alive, ...n }) => n) }, null, 2));
}

/**
 * All `members` joined under an elected master, and the shards they hold recovered (none still initializing),
 * asked of any member that answers. Not "green or yellow": an index whose shard can go nowhere (an allocation
 * filter, a primary lost with its only node) keeps a cluster red, and the cluster still formed.
 */
async function clusterFormed(urls: string[], members: number): Promise<boolean> {
  for (const url of urls) {
    try {
      const res = await fetch(`${url}/_cluster/health?wait_for_nodes=${members}&wait_for_events=languid&wait_for_no_initializing_shards=true&timeout=2s`, { signal: AbortSignal.timeout(4000) });
      if (res.status !== 200) continue;
      const body = (await res.json()) as { timed_out?: boolean; number_of_nodes?: number };
      return body.timed_out === false && body.number_of_nodes === members;
    } catch {
      /* this member is not up yet: ask the next */
    }
  }
  return false;
}

/**
 * Starts a local cluster of `nodes` members on loopback (distinct HTTP and transport ports, each
 * member seeded with every transport address) and waits, bounded, until all have joined and it is
 * green or yellow. A cluster already running under the name with all its members is returned as is.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalClusterState> {
  if (!Number.isInteger(options.nodes) || options.nodes < 2 || options.nodes > 9) throw new NyxError(`a local cluster has 2 to 9 nodes, not ${options.nodes}`);
  const home = options.home ?? defaultNyxHome();
  const name = options.name ?? 'default';
  const progress = options.onProgress ?? (() => {});
  const single = readLocalNode(name, home);
  if (single) throw new NyxError(`a single-node Elasticsearch named ${name} runs at ${single.url}`, 'stop it first (nyx es stop)');
  const previous = readLocalCluster(name, home);
  if (!options.fresh && previous && previous.nodes.every((n) => n.alive) && previous.nodes.length === options.nodes && (await clusterFormed(previous.nodes.map((n) => n.url), options.nodes))) return previous;
  if (previous?.nodes.some((n) => n.alive)) await stopLocalCluster(name, home);
  if (previous && previous.nodes.length !== options.nodes && !options.fresh) {
    throw new NyxError(`the local cluster ${name} was made with ${previous.nodes.length} nodes, not ${options.nodes}`, 'start it with the same --nodes, or remove its data first');
  }

  mkdirSync(home, { recursive: true, mode: 0o755 });
  const root = nodeDir(home, name);
  if (options.fresh) rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const names = Array.from({ length: options.nodes }, (_, i) => memberName(name, i + 1));
  // Data kept from an earlier start already belongs to a cluster: initial_master_nodes is only for the very first.
  const reuse = previous && !options.fresh ? previous : undefined;
  const ports: Array<{ port: number; transportPort: number }> = [];
  for (let i = 0; i < options.nodes; i++) {
    const kept = reuse?.nodes[i];
    ports.push(kept ? { port: Number(new URL(kept.url).port), transportPort: kept.transportPort } : { port: await freePort(), transportPort: await freePort() });
  }
  const seedHosts = ports.map((p) => `127.0.0.1:${p.transportPort}`);
  const spawned: SpawnedNode[] = [];
  const state: LocalClusterState = { name, version: options.version, heap: options.heap, startedAt: new Date().toISOString(), nodes: [] };
  try {
    for (let i = 0; i < options.nodes; i++) {
      const node = await spawnNode({
        clusterName: `nyx-${name}`,
        nodeName: names[i]!,
        dir: join(root, names[i]!),
        port: ports[i]!.port,
        transportPort: ports[i]!.transportPort,
        seedHosts,
        ...(reuse ? {} : { initialMasters: names }),
        version: options.version,
        heap: options.heap,
        home,
        progress,
      });
      spawned.push(node);
      state.nodes.push({ ...node.state, transportPort: ports[i]!.transportPort, alive: true });
      writeClusterState(home, state);
    }
    const timeoutMs = options.healthTimeoutMs ?? 300_000;
    if (await waitHealthy(spawned, () => clusterFormed(state.nodes.map((n) => n.url), options.nodes), timeoutMs)) {
      log.info({ name, urls: state.nodes.map((n) => n.url) }, 'local Elasticsearch cluster is up');
      return state;
    }
    throw new NyxError(`the local cluster ${name} did not form (${options.nodes} nodes joined, shards recovered) within ${Math.round(timeoutMs / 1000)}s; logs: ${state.nodes.map((n) => n.logFile).join(', ')}`);
  } catch (err) {
    await stopLocalCluster(name, home);
    throw err;
  }
}

/** SIGTERM to a process group, SIGKILL after a bounded wait. */
async function stopProcessGroup(pid: number, graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (isAlive(pid)) signal('SIGKILL');
}

/** Stops every member the launcher started (all at once: each gets a bounded grace period). Data stays. */
export async function stopLocalCluster(name = 'default', home = defaultNyxHome()): Promise<LocalClusterState | undefined> {
  const state = readLocalCluster(name, home);
  if (!state) return undefined;
  await Promise.all(state.nodes.filter((n) => n.alive).map((n) => stopProcessGroup(n.pid, 30_000)));
  return { ...state, nodes: state.nodes.map((n) => ({ ...n, alive: isAlive(n.pid) })) };
}

/** `kill -9` one member (its whole process group) and waits until it is gone: a crash, not a shutdown. */
export async function killClusterNode(name: string, member: number, home = defaultNyxHome()): Promise<LocalNodeState> {
  const state = readLocalCluster(name, home);
  const node = state?.nodes[member];
  if (!state || !node) throw new NyxError(`the local cluster ${name} has no node #${member}`);
  try {
    process.kill(-node.pid, 'SIGKILL');
  } catch {
    try {
      process.kill(node.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 15_000;
  while (isAlive(node.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(node.pid)) throw new NyxError(`node ${node.name} (pid ${node.pid}) survived SIGKILL`);
  return node;
}

/**
 * Starts one member again, on its own ports and data dir, and waits (bounded) until the cluster has all
 * its members again. The member must not be running.
 */
export async function restartClusterNode(name: string, member: number, options: { home?: string; healthTimeoutMs?: number; onProgress?: (line: string) => void } = {}): Promise<LocalNodeState> {
  const home = options.home ?? defaultNyxHome();
  const state = readLocalCluster(name, home);
  const node = state?.nodes[member];
  if (!state || !node) throw new NyxError(`the local cluster ${name} has no node #${member}`);
  if (node.alive) throw new NyxError(`node ${node.name} still runs (pid ${node.pid})`);
  const spawned = await spawnNode({
    clusterName: `nyx-${name}`,
    nodeName: node.name,
    dir: dirname(node.dataDir),
    port: Number(new URL(node.url).port),
    transportPort: node.transportPort,
    seedHosts: state.nodes.map((n) => `127.0.0.1:${n.transportPort}`),
    version: state.version,
    heap: state.heap,
    home,
    progress: options.onProgress ?? (() => {}),
  });
  state.nodes[member] = { ...spawned.state, transportPort: node.transportPort, alive: true };
  writeClusterState(home, state);
  const timeoutMs = options.healthTimeoutMs ?? 180_000;
  if (await waitHealthy([spawned], () => clusterFormed(state.nodes.map((n) => n.url), state.nodes.length), timeoutMs)) return spawned.state;
  throw new NyxError(`node ${node.name} did not rejoin the cluster ${name} within ${Math.round(timeoutMs / 1000)}s; its log is ${node.logFile}`);
}
