import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { writeAlerts, type AlertDocument } from '../../src/alerts/index.ts';
import { actionId } from '../../src/response/engine.ts';
import { ResponseStore, auditIndex } from '../../src/response/store.ts';
import { runNyx, type CliResult } from '../support/cli.ts';
import { testClient, testElasticUrl } from '../support/elastic.ts';
import { canConnect, createNetnsPair, netnsUnavailableReason, startListener, type Listener, type NetnsPair } from '../support/netns.ts';
import { dropTestNamespaces, installResponseTemplates, sampleAlert, testNamespace } from './support.ts';

// End to end (issue 19, class 7): alerts asking to block loopback, an address of the Elasticsearch host (known to
// Nyx only by its hostname), a multicast address and 0.0.0.0/0 → one real `nyx respond --once` pass with the real
// nftables driver in a network namespace → each refused, with the reason in the action record and the audit trail;
// the attacker's address in the same pass is blocked by the kernel.
//
// The Elasticsearch URL names a host, es-<id>.nyx.test, that the system resolver (getaddrinfo, /etc/hosts) answers
// with 127.0.0.1 and a second address: the nyx process runs in its own mount namespace (unshare -m) with a hosts file
// bind-mounted over /etc/hosts, so nothing outside the test sees the name.
const run = promisify(execFile);
const skip = (await netnsUnavailableReason()) ?? (await unshareUnavailableReason());
const PORT = 18_083;
const PLAYBOOK = 'guardrail-e2e';

async function unshareUnavailableReason(): Promise<string | undefined> {
  try {
    await run('unshare', ['-m', 'sh', '-c', 'mount --bind /etc/hosts /etc/hosts'], { timeout: 10_000 });
    return undefined;
  } catch (err) {
    return `no private mount namespace here (unshare -m, mount --bind): ${(err as Error).message.split('\n')[0]}`;
  }
}

/** `nyx respond --once` as a user runs it, except that its /etc/hosts is `hostsFile` (a mount namespace of its own). */
function respondOnce(hostsFile: string, env: Record<string, string>): Promise<CliResult> {
  return runNyx(['respond', '--once'], env, undefined, ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile]);
}

function alertFor(ns: string, entity: string): AlertDocument {
  const ip = entity.includes('/') ? undefined : entity;
  const alert = sampleAlert(ns, ip ? { ip } : {});
  alert.nyx.alert.entity = entity;
  return alert;
}

describe('e2e: nyx respond refuses protected targets (loopback, the Elasticsearch host by name, multicast, 0.0.0.0/0) and blocks the attacker', { skip: skip ?? false }, () => {
  const client = testClient();
  const ns = testNamespace('e2egr');
  const id = randomBytes(3).toString('hex');
  const esHost = `es-${id}.nyx.test`;
  // TEST-NET-2 style address nobody else uses here: reachable or not, it is the Elasticsearch host's second address.
  const esSecondAddress = `198.18.${1 + (randomBytes(1)[0]! % 250)}.9`;
  let pair: NetnsPair | undefined;
  let listener: Listener | undefined;
  let dir = '';
  let hostsFile = '';
  let env: Record<string, string> = {};

  before(async () => {
    await installResponseTemplates(client);
    pair = await createNetnsPair();
    listener = await startListener(pair.target, [pair.targetV4], PORT);
    dir = mkdtempSync(join(tmpdir(), 'nyx-e2e-guard-'));
    hostsFile = join(dir, 'hosts');
    writeFileSync(hostsFile, ['127.0.0.1 localhost', `127.0.0.1 ${esHost}`, `${esSecondAddress} ${esHost}`, ''].join('\n'));
    const playbooks = join(dir, 'playbooks');
    mkdirSync(playbooks);
    writeFileSync(
      join(playbooks, `${PLAYBOOK}.yml`),
      [
        `name: ${PLAYBOOK}`,
        'level: constrain',
        'trigger: { rule_ids: [c86d317c-6495-4cd8-99e3-2fff070b3058] }',
        'steps:',
        '  - id: block',
        '    type: block_ip',
        '    ttl: 1h',
        '    params: { ip: "{{nyx.alert.entity}}", ttl_seconds: 600, alert_id: "{{$alert_id}}" }',
        '',
      ].join('\n'),
    );
    const config = join(dir, 'nyx.yml');
    writeFileSync(
      config,
      [
        `namespace: ${ns}`,
        'response:',
        `  playbooks_dir: ${JSON.stringify(playbooks)}`,
        '  drivers:',
        '    block_ip: { backends: [nftables] }',
        `    nftables: { netns: ${pair.target}, table: nyx_guard }`,
      ].join('\n'),
    );
    const es = new URL(testElasticUrl());
    es.hostname = esHost;
    env = { ELASTICSEARCH_URL: es.toString().replace(/\/$/, ''), NYX_CONFIG: config };
  });

  after(async () => {
    await listener?.stop().catch(() => undefined);
    await pair?.cleanup().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    await dropTestNamespaces(client).catch(() => undefined);
    await client.close();
  });

  async function setElements(set: string): Promise<string> {
    const r = await run('ip', ['netns', 'exec', pair!.target, 'nft', 'list', 'set', 'inet', 'nyx_guard', set]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    return r.stdout;
  }

  test('each protected target is refused with its reason in the record and the audit trail; the attacker is blocked', async () => {
    const p = pair!;
    assert.equal(await canConnect(p.attacker, p.targetV4, PORT), true, 'before the alerts the attacker reaches the target');
    const targets = ['127.0.0.1', esSecondAddress, '224.0.0.251', '0.0.0.0/0', p.attackerV4];
    const written = await writeAlerts(client, targets.map((t) => alertFor(ns, t)), { refresh: 'wait_for' });
    assert.equal(written.created, targets.length, JSON.stringify(written.failures));
    const idOf = new Map(targets.map((t, i) => [t, written.createdIds[i]!]));

    const r = await respondOnce(hostsFile, env);
    assert.equal(r.code, 0, `nyx respond --once failed: ${r.stderr}\n${r.stdout}`);
    assert.match(r.stdout, new RegExp(`playbook runs: ${targets.length}, actions: ${targets.length}`), r.stdout);

    const expected: Array<[string, RegExp]> = [
      ['127.0.0.1', /^127\.0\.0\.1 is in 127\.0\.0\.0\/8 \(loopback, protected by default\)$/],
      [esSecondAddress, new RegExp(`^${esSecondAddress.replaceAll('.', '\\.')} is an address of ${esHost.replaceAll('.', '\\.')} \\(elasticsearch\\.url\\), protected by default$`)],
      ['224.0.0.251', /^224\.0\.0\.251 is in 224\.0\.0\.0\/4 \(multicast, protected by default\)$/],
      ['0.0.0.0/0', /^0\.0\.0\.0\/0 overlaps 127\.0\.0\.0\/8 \(loopback, protected by default\)$/],
    ];
    const store = new ResponseStore(client, ns);
    await client.indices.refresh({ index: auditIndex(ns) });
    for (const [target, reason] of expected) {
      const alertId = idOf.get(target)!;
      const blockId = actionId(alertId, PLAYBOOK, 'block');
      assert.match(r.stdout, new RegExp(`${alertId} ${PLAYBOOK}/block block_ip → refused: refused by guardrail protected_target: `), r.stdout);
      const rec = (await store.getAction(blockId))?.record;
      assert.equal(rec?.status, 'refused', target);
      assert.match(rec.error ?? '', reason, target);
      assert.deepEqual(rec.calls, [], `${target}: no firewall call was made`);
      const trail = await store.auditTrail(blockId);
      assert.deepEqual(trail.map((t) => t.event), ['refused:protected_target'], target);
      assert.match(trail[0]!.reason ?? '', new RegExp(`^refused by guardrail protected_target: ${reason.source.slice(1)}`), `${target}: the audit trail says why`);
    }

    const attackerRec = (await store.getAction(actionId(idOf.get(p.attackerV4)!, PLAYBOOK, 'block')))?.record;
    assert.equal(attackerRec?.status, 'applied', attackerRec?.error);
    assert.match(r.stdout, new RegExp(`${PLAYBOOK}/block block_ip → applied: nftables: ${p.attackerV4.replaceAll('.', '\\.')} blocked`), r.stdout);
    const elements = await setElements('blocklist4');
    assert.match(elements, new RegExp(`${p.attackerV4.replaceAll('.', '\\.')} timeout`), elements);
    for (const refused of ['127.0.0.1', esSecondAddress, '224.0.0.251', '0.0.0.0']) assert.doesNotMatch(elements, new RegExp(`\\b${refused.replaceAll('.', '\\.')}\\b`), `${refused} never reached the kernel`);
    assert.equal(await canConnect(p.attacker, p.targetV4, PORT), false, 'the blocked attacker must not connect');
  });
});
