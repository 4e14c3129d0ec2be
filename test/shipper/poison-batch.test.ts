import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNyx } from '../support/cli.ts';
import { startStubIngest } from './stub-ingest.ts';

// Issue 19, class 3 (shipper side): a server that refuses a whole batch because of one event in it (400 for
// the body, or a 500) must not stall the queue: the shipper splits the batch until the poison event is alone,
// dead-letters it locally with the reason, and every other line is stored.
const NYX = fileURLToPath(new URL('../../bin/nyx.js', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('a batch with a poison event (whole-batch 400 or 500): the poison ends in the dead-letter store, every other line is stored', async () => {
  const stub = await startStubIngest();
  stub.failBatchWhen((e) => (String(e.raw).includes('POISON-500') ? 500 : String(e.raw).includes('POISON-400') ? 400 : undefined));
  const dir = mkdtempSync(join(tmpdir(), 'nyx-poison-'));
  mkdirSync(join(dir, 'logs'));
  const lines = Array.from({ length: 300 }, (_, i) => `2026-01-31T12:00:00Z web1 app[1]: line ${i}${i === 57 ? ' POISON-500' : i === 211 ? ' POISON-400' : ''}`);
  writeFileSync(join(dir, 'logs', 'app.log'), `${lines.join('\n')}\n`);
  const config = join(dir, 'ship.yml');
  writeFileSync(
    config,
    `server: ${stub.url}\nenrollment_token: nyxet_test_token\nstate_dir: ./state\nstatus_interval_ms: 200\ninputs:\n  - type: files\n    paths: ['./logs/*.log']\n    poll_ms: 100\noutput:\n  batch_size: 100\n  flush_interval_ms: 200\n  backoff_initial_ms: 50\n  backoff_max_ms: 200\n`,
  );
  const shipper = spawn(process.execPath, [NYX, 'ship', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } });
  let stderr = '';
  shipper.stderr?.on('data', (d) => (stderr += d));
  const deadLetterFile = join(dir, 'state', 'dead-letter.ndjson');
  const deadLetters = (): Array<{ seq: number; reason: string; event: { raw: string } }> =>
    existsSync(deadLetterFile) ? readFileSync(deadLetterFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  try {
    await waitFor('every good line stored and both poison lines dead-lettered', () => stub.stored.size >= 298 && deadLetters().length >= 2).catch((err: Error) => {
      throw new Error(`${err.message}: ${stub.stored.size}/298 stored, ${deadLetters().length} dead letters; stderr: ${stderr.slice(-500)}`);
    });
    const stored = [...stub.stored.values()].map((e) => String(e.raw)).sort();
    assert.deepEqual(stored, lines.filter((l) => !l.includes('POISON')).sort());
    const letters = deadLetters().sort((a, b) => a.seq - b.seq);
    assert.deepEqual(letters.map((l) => l.event.raw), [lines[57], lines[211]]);
    assert.match(letters[0]!.reason, /the server failed on this event alone 3 times \(HTTP 500: internal error\)/);
    assert.match(letters[1]!.reason, /HTTP 400: .*cannot take/);
    // `nyx ship status` says so, and where they are.
    await sleep(500);
    const status = await runNyx(['ship', 'status', '--config', config]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /rejected 2\b/);
    assert.ok(status.stdout.includes(`dead letters: 2 (ever), with the reason each, in ${join('state', 'dead-letter.ndjson')}`) || status.stdout.includes(`dead letters: 2 (ever), with the reason each, in ${deadLetterFile}`), status.stdout);
  } finally {
    shipper.kill('SIGTERM');
    await new Promise((r) => (shipper.exitCode !== null ? r(undefined) : shipper.once('exit', r)));
    await stub.close();
  }
});
