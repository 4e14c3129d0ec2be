import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNyx } from '../support/cli.ts';
import { startStubIngest, type StubIngest } from './stub-ingest.ts';

const NYX = fileURLToPath(new URL('../../bin/nyx.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function shipConfig(dir: string, stub: StubIngest, token = 'nyxet_test_token'): string {
  const file = join(dir, 'ship.yml');
  writeFileSync(
    file,
    `server: ${stub.url}
enrollment_token: ${token}
state_dir: ./state
inputs:
  - type: files
    paths: ['./logs/*.log']
    poll_ms: 100
    close_inactive_ms: 1000
output:
  batch_size: 200
  flush_interval_ms: 200
  backoff_initial_ms: 100
  backoff_max_ms: 1000
status_interval_ms: 300
`,
  );
  return file;
}

function startShipper(config: string): ChildProcess {
  return spawn(process.execPath, [NYX, 'ship', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } });
}

async function waitFor(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('append, rotate, kill -9 and restart, server 503s and 429s: every line is stored exactly once', async () => {
  const stub = await startStubIngest();
  const dir = mkdtempSync(join(tmpdir(), 'nyx-ship-'));
  spawnSync('mkdir', [join(dir, 'logs')]);
  const log = join(dir, 'logs', 'app.log');
  writeFileSync(log, '');
  const config = shipConfig(dir, stub);
  let shipper = startShipper(config);
  const expected: string[] = [];
  const write = (n: number): void => {
    let text = '';
    for (let i = 0; i < n; i++) {
      const line = `2026-01-31T12:00:00Z web1 app[1]: line ${expected.length} ${'x'.repeat(i % 50)}`;
      expected.push(line);
      text += `${line}\n`;
    }
    appendFileSync(log, text);
  };
  try {
    // The shipper must have seen the file once: a file rotated away before that is not known to it.
    write(10);
    await waitFor('the shipper to start shipping', () => stub.stored.size === 10);
    for (let step = 0; step < 30; step++) {
      write(100);
      if (step === 8) {
        // Rotation by rename, as logrotate does without copytruncate.
        renameSync(log, `${log.replace(/\.log$/, '')}.1`);
        writeFileSync(log, '');
      }
      if (step === 14) {
        shipper.kill('SIGKILL');
        await new Promise((r) => shipper.once('exit', r));
        write(150); // written while the shipper is down
        shipper = startShipper(config);
      }
      if (step === 18) stub.setDown(true);
      if (step === 22) stub.setDown(false);
      if (step === 24) stub.pushBack(3, 429, 1);
      await sleep(60);
    }
    await waitFor('every line stored', () => stub.stored.size >= expected.length).catch((err: Error) => {
      const got = new Set([...stub.stored.values()].map((e) => String(e.raw)));
      const missing = expected.filter((l) => !got.has(l)).map((l) => l.split(' ')[4]);
      throw new Error(`${err.message}: ${stub.stored.size}/${expected.length} stored; missing lines ${missing.slice(0, 10).join(',')}… (${missing.length})`);
    });
    await sleep(500); // anything extra would arrive now
    const stored = [...stub.stored.values()].map((e) => String(e.raw));
    assert.equal(stub.stored.size, expected.length, 'count');
    assert.deepEqual(new Set(stored), new Set(expected), 'every line, and no other');
    assert.equal(new Set(stored).size, stored.length, 'no line stored twice');
    const seqs = [...stub.stored.keys()].map((id) => Number(id.split('-').pop()));
    assert.equal(new Set(seqs).size, seqs.length, 'ids unique');
    const keyFile = join(dir, 'state', 'agent.json');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'agent key file is 0600');
    await waitFor('status shows an empty queue', () => {
      const s = JSON.parse(readFileSync(join(dir, 'state', 'status.json'), 'utf8')) as { queue: { depth: number } };
      return s.queue.depth === 0;
    }, 5000);
    const status = await runNyx(['ship', 'status', '--config', config]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /running \(pid \d+/);
    assert.match(status.stdout, /events: +read \d+, queued \d+, sent \d+, retried \d+, rejected 0, dropped 0 \(ever\)/);
    assert.match(status.stdout, /queue: +depth 0/);
    const json = JSON.parse((await runNyx(['ship', 'status', '--config', config, '--json'])).stdout) as { counters: { retried: number }; agent_id: string };
    assert.ok(json.counters.retried > 0, 'the 503/429 period shows as retries');
    assert.equal(json.agent_id, 'agent-1');
  } finally {
    shipper.kill('SIGTERM');
    await new Promise((r) => (shipper.exitCode !== null ? r(null) : shipper.once('exit', r)));
    await stub.close();
  }
});

test('a refused enrollment token: one line naming the problem, exit 1', async () => {
  const stub = await startStubIngest();
  const dir = mkdtempSync(join(tmpdir(), 'nyx-ship-'));
  try {
    const r = await runNyx(['ship', '--config', shipConfig(dir, stub, 'nyxet_wrong')]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('nyx:'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /enrollment refused .*HTTP 401.*not known/);
    assert.ok(!existsSync(join(dir, 'state', 'agent.json')));
  } finally {
    await stub.close();
  }
});

test('a config error names the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-ship-'));
  const file = join(dir, 'ship.yml');
  writeFileSync(file, 'server: http://127.0.0.1:1\ninputs:\n  - type: files\n    paths: []\n');
  const r = await runNyx(['ship', '--config', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^nyx: .*ship\.yml: inputs\.0\.paths: /m);
});

test('nyx agent install: --dry-run prints the unit; --root writes it there without enabling', async () => {
  const stub = await startStubIngest();
  const dir = mkdtempSync(join(tmpdir(), 'nyx-install-'));
  try {
    const config = shipConfig(dir, stub);
    const dry = await runNyx(['agent', 'install', '--config', config, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^\[Service\]$/m);
    assert.match(dry.stdout, new RegExp(`^ExecStart=.*node.* ship --config ${config}$`, 'm'));
    assert.match(dry.stdout, /^Restart=always$/m);
    const root = join(dir, 'root');
    const real = await runNyx(['agent', 'install', '--config', config, '--root', root]);
    assert.equal(real.code, 0, real.stderr);
    assert.equal(readFileSync(join(root, 'etc/systemd/system/nyx-ship.service'), 'utf8'), dry.stdout);
    const win = await runNyx(['agent', 'install', '--config', 'C:\\ProgramData\\Nyx\\config.yml', '--platform', 'windows']);
    assert.match(win.stdout, /nssm\.exe" install NyxShip /);
    assert.match(win.stdout, /nssm\.exe" start NyxShip/);
  } finally {
    await stub.close();
  }
});

test('nyx agent bundle linux|windows: an archive with the shipper, config, installer, README and token; SHA-256 printed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-bundle-'));
  const out = join(dir, 'agent.tar.gz');
  const r = await runNyx(['agent', 'bundle', 'linux', '--namespace', 'acme', '--server', 'https://nyx.example.org:8080', '--token', 'nyxet_abc.def', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const sha = spawnSync('sha256sum', [out]).stdout.toString().split(' ')[0];
  assert.equal(r.stdout.trim(), `${sha}  ${out}`);
  const list = spawnSync('tar', ['tzvf', out]).stdout.toString();
  for (const f of ['nyx-ship/nyx-ship.mjs', 'nyx-ship/config.yml', 'nyx-ship/install.sh', 'nyx-ship/README-quickstart.txt', 'nyx-ship/enrollment.token']) assert.match(list, new RegExp(f.replace('.', '\\.')));
  assert.match(list, /-rw------- .*enrollment\.token/);
  spawnSync('tar', ['xzf', out, '-C', dir]);
  assert.equal(readFileSync(join(dir, 'nyx-ship/enrollment.token'), 'utf8').trim(), 'nyxet_abc.def');
  // The bundled shipper runs on its own (no node_modules next to it).
  const help = spawnSync(process.execPath, [join(dir, 'nyx-ship/nyx-ship.mjs'), 'ship', 'status', '--config', join(dir, 'nyx-ship/config.yml')], { cwd: dir });
  assert.match(help.stderr.toString(), /nyx-ship: no shipper status in \/var\/lib\/nyx-ship/);
  const zipOut = join(dir, 'agent.zip');
  const w = await runNyx(['agent', 'bundle', 'windows', '--namespace', 'acme', '--server', 'https://nyx.example.org:8080', '--token', 'nyxet_abc.def', '--out', zipOut]);
  assert.equal(w.code, 0, w.stderr);
  const names = spawnSync('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print("\\n".join(z.namelist()))', zipOut]).stdout.toString();
  assert.match(names, /nyx-ship\/install\.ps1/);
  assert.match(names, /nyx-ship\/nyx-ship\.mjs/);
});
