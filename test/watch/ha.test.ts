import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { runNyx } from '../support/cli.ts';
import { uniqueNamespace } from '../support/elastic.ts';
import { PACK, packRules, ruleTestEvents } from '../alerts/support.ts';
import { alertsIn, bootstrapped, eventually, indexEcs, startNyx, writeConfigFile, type NyxProcess } from './support.ts';

const STEMS = [
  'win_lolbin_certutil_download', 'win_lolbin_mshta', 'win_lolbin_regsvr32', 'win_lolbin_rundll32', 'win_lolbin_bitsadmin',
  'win_ps_encoded_command', 'win_ps_download_cradle', 'win_defender_tampering',
];
const running: NyxProcess[] = [];
after(async () => {
  for (const p of running) await p.stop('SIGKILL');
  await (await bootstrapped()).client.close();
});

interface StatusRow {
  rule_id: string;
  holder: string | null;
  shard: number;
}

test('two real `nyx watch` replicas share the rules; after one is killed -9 the other takes its rules and no alert is written twice', async () => {
  const { client } = await bootstrapped();
  const ns = uniqueNamespace('wha');
  const rules = packRules().filter((r) => STEMS.includes(basename(r.rule.file).replace(/\.yml$/, '')));
  assert.equal(rules.length, STEMS.length);
  const config = writeConfigFile({
    alerts: { sigma_paths: STEMS.map((s) => join(PACK, 'windows', `${s}.yml`)) },
    watch: { group: ns, namespaces: [ns], interval_seconds: 1, lease_ttl_seconds: 3, shards: 4, overlap_seconds: 600 },
  });
  const status = async (): Promise<StatusRow[]> => {
    const res = await runNyx(['--config', config, 'watch', 'status', '--json']);
    assert.equal(res.code, 0, res.stderr);
    return res.stdout.trim().split('\n').map((l) => JSON.parse(l) as StatusRow);
  };
  const a = startNyx(['--config', config, 'watch']);
  running.push(a);
  const holderA = (await a.waitFor(/ as (\S+) \(group/))[1]!;
  await a.waitFor(/holding shards: \d/);
  const b = startNyx(['--config', config, 'watch']);
  running.push(b);
  const holderB = (await b.waitFor(/ as (\S+) \(group/))[1]!;
  // Both replicas end up holding shards (the first hands back what exceeds its fair share).
  await eventually(async () => {
    const holders = new Set((await status()).map((r) => r.holder));
    return holders.has(holderA) && holders.has(holderB) ? true : undefined;
  }, 'both replicas holding shards');

  const batch = async (tag: string): Promise<void> => {
    const at = new Date(Date.now() - 20_000).toISOString();
    await indexEcs(
      client,
      STEMS.map((stem) => ({ index: `logs-endpoint-${ns}`, doc: { ...ruleTestEvents(stem).positive[0]!, '@timestamp': at, host: { name: `${tag}-${stem}` } } })),
    );
  };
  await batch('first');
  await eventually(async () => ((await alertsIn(client, ns)).length >= STEMS.length ? true : undefined), 'alerts of the first batch');

  const before = await status();
  const ofA = before.filter((r) => r.holder === holderA).map((r) => r.rule_id);
  assert.ok(ofA.length > 0, 'replica A runs some rules');
  await a.stop('SIGKILL');

  await batch('second');
  // B takes A's shards once A's leases expire, and runs A's rules from A's checkpoints.
  const after = await eventually(async () => {
    const rows = await status();
    return rows.every((r) => r.holder === holderB) ? rows : undefined;
  }, "replica B holding every rule after A's leases expired");
  assert.equal(after.length, STEMS.length);
  const alerts = await eventually(async () => {
    const found = await alertsIn(client, ns);
    return found.length >= 2 * STEMS.length ? found : undefined;
  }, 'alerts of the second batch, including the rules A ran');

  // Exactly one alert per rule and host: nothing written twice, nothing lost.
  assert.equal(alerts.length, 2 * STEMS.length);
  const keys = alerts.map((x) => `${(x._source.rule as { id: string }).id}|${(x._source.nyx as { alert: { entity: string } }).alert.entity}`);
  assert.equal(new Set(keys).size, keys.length);
  for (const ruleId of ofA) assert.ok(alerts.some((x) => (x._source.rule as { id: string }).id === ruleId && (x._source.nyx as { alert: { entity: string } }).alert.entity.startsWith('second-')), `rule ${ruleId} of the killed replica fired after the takeover`);
  assert.match(b.stderr(), /holding shards: 0,1,2,3/);
  await b.stop();
});
