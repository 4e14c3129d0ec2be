import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl } from '../support/elastic.ts';
import { dropTestNamespaces, installResponseTemplates, putAlert, sampleAlert, testNamespace } from './support.ts';

// The operator commands as a user runs them: the real binary, a config file, the real cluster.
const client = testClient();
after(() => dropTestNamespaces(client));

function setup(): { env: Record<string, string>; ns: string } {
  const ns = testNamespace('cli');
  const dir = mkdtempSync(join(tmpdir(), 'nyx-respond-cli-'));
  const config = join(dir, 'nyx.yml');
  writeFileSync(
    config,
    [
      `namespace: ${ns}`,
      'response:',
      '  guardrails: { protected_ips: [10.0.0.0/8] }',
      '  thehive: { url: "http://127.0.0.1:9" }',
      '  drivers:',
      '    block_ip: { backends: [webhook] }',
      '    webhook_firewall: { url: "http://127.0.0.1:9/block" }',
    ].join('\n'),
  );
  return { ns, env: { ELASTICSEARCH_URL: testElasticUrl(), NYX_CONFIG: config } };
}

test('nyx playbook validate / list: the shipped set', async () => {
  const { env } = setup();
  const validate = await runNyx(['playbook', 'validate'], env);
  assert.equal(validate.code, 0, validate.stderr);
  assert.equal(validate.stdout.trim(), '5 playbooks valid');
  const list = await runNyx(['playbook', 'list'], env);
  assert.match(list.stdout, /brute-force-block {2}level=constrain/);
  assert.match(list.stdout, /- block-source: block_ip ttl=3600s on_error=stop/);
});

test('nyx playbook run --dry-run prints every call and writes nothing; bad names are one readable line', async () => {
  await installResponseTemplates(client);
  const { env, ns } = setup();
  await putAlert(client, ns, 'cli-1', sampleAlert(ns, { ip: '203.0.113.77' }));
  const dry = await runNyx(['playbook', 'run', 'brute-force-block', '--alert', 'cli-1', '--dry-run'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^dry run: nothing was changed/);
  assert.match(dry.stdout, /thehive \(thehive_alert, audit\) → would_apply/);
  assert.match(dry.stdout, /call: POST http:\/\/127\.0\.0\.1:9\/api\/v1\/alert/);
  assert.match(dry.stdout, /block-source \(block_ip, constrain\) → would_apply/);
  assert.match(dry.stdout, /"ip":"203\.0\.113\.77"/);
  const list = await runNyx(['actions', 'list'], env);
  assert.equal(list.stdout.trim(), 'no actions');

  const unknown = await runNyx(['playbook', 'run', 'nope', '--alert', 'cli-1'], env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^nyx: no playbook named "nope" \(known: /);
  const noAlert = await runNyx(['playbook', 'run', 'brute-force-block', '--alert', 'missing'], env);
  assert.equal(noAlert.code, 1);
  assert.match(noAlert.stderr, /^nyx: no alert missing in nyx-alerts-/);
  const notWaiting = await runNyx(['actions', 'approve', 'deadbeef'], env);
  assert.match(notWaiting.stderr, /^nyx: no action deadbeef in namespace /);
});
