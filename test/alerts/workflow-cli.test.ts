import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runNyx } from '../support/cli.ts';
import { testClient, uniqueNamespace } from '../support/elastic.ts';
import { PACK, ruleTestEvents } from './support.ts';
import { bootstrapped, indexEcs, writeConfigFile } from '../watch/support.ts';

after(async () => (await bootstrapped()).client.close());

test('alert workflow through the CLI: watch --once raises it, list/show display it, ack then close record who and why', async () => {
  const { client } = await bootstrapped();
  const ns = uniqueNamespace('wcli');
  const config = writeConfigFile({
    alerts: { sigma_paths: [join(PACK, 'windows', 'win_lolbin_mshta.yml')] },
    watch: { group: ns, namespaces: [ns], shards: 1 },
  });
  const nyx = (...args: string[]) => runNyx(['--config', config, ...args], { NYX_USER: 'analyst1' });
  await indexEcs(client, [{ index: `logs-endpoint-${ns}`, doc: { ...ruleTestEvents('win_lolbin_mshta').positive[0]!, '@timestamp': new Date(Date.now() - 30_000).toISOString(), host: { name: `ws-cli-${ns}` } } }]);

  const once = await nyx('watch', '--once');
  assert.equal(once.code, 0, once.stderr);
  const run = JSON.parse(once.stdout.trim()) as { created: number; alertIds: string[] };
  assert.equal(run.created, 1);
  const id = run.alertIds[0]!;
  await testClient().indices.refresh({ index: `nyx-alerts-${ns}` });

  const list = await nyx('alerts', 'list', '--namespace', ns, '--status', 'open');
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${id}\\s.*open.*host:ws-cli`));
  assert.match(list.stdout, /1 alerts/);

  const show = await nyx('alerts', 'show', id);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /mitre .*T1218/);
  assert.match(show.stdout, /signal +sigma:/);
  assert.match(show.stdout, /evidence +logs-endpoint-/);

  const ack = await nyx('alerts', 'ack', id, '--namespace', ns);
  assert.equal(ack.code, 0, ack.stderr);
  assert.match(ack.stdout, /acknowledged by analyst1/);

  const noReason = await nyx('alerts', 'close', id);
  assert.notEqual(noReason.code, 0);
  const badReason = await nyx('alerts', 'close', id, '--reason', 'meh');
  assert.equal(badReason.code, 1);
  assert.match(badReason.stderr, /^nyx: --reason meh: expected one of true_positive, false_positive, benign\n$/);

  const close = await nyx('alerts', 'close', id, '--reason', 'false_positive', '--by', 'lead', '--comment', 'admin test');
  assert.equal(close.code, 0, close.stderr);
  assert.match(close.stdout, /closed \(false_positive\) by lead/);

  const again = await nyx('alerts', 'ack', id);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is closed \(false_positive\): it cannot become acknowledged/);

  const json = await nyx('alerts', 'list', '--namespace', ns, '--status', 'closed', '--json');
  const stored = JSON.parse(json.stdout.trim()) as { alert: { nyx: { alert: { status_reason: string; history: Array<{ to: string; by: string }> } } } };
  assert.equal(stored.alert.nyx.alert.status_reason, 'false_positive');
  assert.deepEqual(stored.alert.nyx.alert.history.map((h) => [h.to, h.by]), [['acknowledged', 'analyst1'], ['closed', 'lead']]);

  const missing = await nyx('alerts', 'show', 'nope');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /expected 32 hex digits/);
});
