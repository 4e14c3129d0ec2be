import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Guardrails, builtinGuardrails, targetsOf, type GuardrailVerdict } from '../../src/response/guardrails.ts';
import { createNftablesDriver } from '../../src/response/drivers/nftables.ts';
import { createBlockIpDriver } from '../../src/response/drivers/block-ip.ts';
import { createDisableAccountDriver } from '../../src/response/drivers/disable-account.ts';
import { createWebhookSender } from '../../src/response/drivers/webhook.ts';
import type { ActionDriver, DriverContext } from '../../src/response/driver.ts';
import type { BlockIpParams } from '../../src/response/drivers/common.ts';
import { getLogger } from '../../src/log/logger.ts';
import type { Client } from '@elastic/elasticsearch';
import { configSchema } from '../../src/config/index.ts';
import type { LoadedConfig } from '../../src/config/index.ts';
import { ownHostsOf } from '../../src/response/worker.ts';
import { FakeFirewall, responseConfig } from './support.ts';

// Unit tests of the response guardrails' defaults (issue 19, class 7): no Elasticsearch needed.

function refusal(verdict: GuardrailVerdict): { rule: string; reason: string } {
  assert.equal(verdict.ok, false, 'expected a refusal');
  return verdict as { rule: string; reason: string };
}

describe('guardrails: addresses protected by default, in every spelling', () => {
  const g = new Guardrails(responseConfig().guardrails);

  const cases: Array<[string, RegExp]> = [
    ['127.0.0.1', /^127\.0\.0\.1 is in 127\.0\.0\.0\/8 \(loopback, protected by default\)$/],
    ['127.10.20.30', /is in 127\.0\.0\.0\/8 \(loopback/],
    ['::1', /^::1 is loopback, protected by default$/],
    ['0.0.0.0', /is in 0\.0\.0\.0\/8 \(unspecified/],
    ['::', /^:: is unspecified, protected by default$/],
    ['255.255.255.255', /is broadcast, protected by default/],
    ['224.0.0.251', /is in 224\.0\.0\.0\/4 \(multicast/],
    ['239.255.255.250', /is in 224\.0\.0\.0\/4 \(multicast/],
    ['ff02::fb', /is in ff00::\/8 \(multicast/],
    ['169.254.169.254', /is in 169\.254\.0\.0\/16 \(link-local/],
    ['fe80::1', /is in fe80::\/10 \(link-local/],
    // IPv4-mapped IPv6 forms of protected IPv4 addresses.
    ['::ffff:127.0.0.1', /^::ffff:127\.0\.0\.1 \(read as 127\.0\.0\.1\) is in 127\.0\.0\.0\/8 \(loopback/],
    ['::ffff:7f00:1', /\(read as 127\.0\.0\.1\) is in 127\.0\.0\.0\/8/],
    ['[::ffff:169.254.169.254]', /\(read as 169\.254\.169\.254\) is in 169\.254\.0\.0\/16/],
    // Spellings an attacker can choose: inet_aton short forms, hex, octal, one big number, padding.
    ['127.1', /^127\.1 \(read as 127\.0\.0\.1\) is in 127\.0\.0\.0\/8 \(loopback/],
    ['0x7f.0.0.1', /^0x7f\.0\.0\.1 \(read as 127\.0\.0\.1\)/],
    ['0x7f000001', /\(read as 127\.0\.0\.1\)/],
    ['2130706433', /^2130706433 \(read as 127\.0\.0\.1\)/],
    ['0177.0.0.1', /^0177\.0\.0\.1 \(read as 127\.0\.0\.1\)/],
    ['127.000.000.001', /\(read as 127\.0\.0\.1\)/],
    // Octal reads 87.0.0.1, but a firewall API that strips zeros would read 127.0.0.1: any protected reading refuses.
    ['0127.0.0.1', /\(read as 127\.0\.0\.1\) is in 127\.0\.0\.0\/8/],
    ['  127.0.0.1\t', /is in 127\.0\.0\.0\/8/],
    ['１２７.０.０.１', /\(read as 127\.0\.0\.1\)/],
    // IPv6 with a zone id, leading zeros, brackets, upper case.
    ['fe80::1%eth0', /^fe80::1%eth0 \(read as fe80::1\) is in fe80::\/10/],
    ['0000:0000:0000:0000:0000:0000:0000:0001', /\(read as ::1\) is loopback/],
    ['[::1]', /\(read as ::1\) is loopback/],
    ['FF02::1', /\(read as ff02::1\) is in ff00::\/8/],
    // IPv6 forms that embed an IPv4 address a host or a NAT64 gateway may deliver to it.
    ['::127.0.0.1', /^::127\.0\.0\.1 \(read as 127\.0\.0\.1\) is in 127\.0\.0\.0\/8/],
    ['64:ff9b::7f00:1', /^64:ff9b::7f00:1 \(read as 127\.0\.0\.1\) is in 127\.0\.0\.0\/8/],
    ['64:ff9b::e000:fb', /\(read as 224\.0\.0\.251\) is in 224\.0\.0\.0\/4 \(multicast/],
    // Ranges that contain (or overlap) a protected range.
    ['127.0.0.0/7', /^127\.0\.0\.0\/7 \(read as 126\.0\.0\.0\/7\) overlaps 127\.0\.0\.0\/8 \(loopback/],
    ['0.0.0.0/0', /^0\.0\.0\.0\/0 overlaps 127\.0\.0\.0\/8 \(loopback, protected by default\)$/],
    ['128.0.0.0/1', /^128\.0\.0\.0\/1 overlaps (255\.255\.255\.255 \(broadcast|224\.0\.0\.0\/4 \(multicast)/],
    ['::/0', /^::\/0 overlaps/],
    ['::ffff:0:0/96', /overlaps 127\.0\.0\.0\/8|overlaps 0\.0\.0\.0\/8/],
    ['169.254.0.0/24', /overlaps 169\.254\.0\.0\/16 \(link-local/],
    ['fe00::/7', /^fe00::\/7 overlaps (fe80::\/10 \(link-local|ff00::\/8 \(multicast)/],
  ];
  for (const [target, reason] of cases) {
    test(`refuses ${JSON.stringify(target)} with the reason`, () => {
      const r = refusal(g.checkTargets(targetsOf({ ip: target }), {}, { ip: target }));
      assert.equal(r.rule, 'protected_target');
      assert.match(r.reason, reason);
    });
  }

  test('ordinary addresses pass; a spelling that is ambiguous or not canonical is refused with the canonical form', () => {
    for (const ok of ['203.0.113.7', '198.51.100.1', '2001:db8::7', '8.8.8.8', '2001:db8::/64', '64:ff9b::cb00:7107']) assert.deepEqual(g.checkAddress(ok), { ok: true }, ok);
    const ambiguous = refusal(g.checkAddress('010.0.0.1'));
    assert.equal(ambiguous.rule, 'invalid_target');
    assert.match(ambiguous.reason, /"010\.0\.0\.1" is ambiguous \(8\.0\.0\.1 or 10\.0\.0\.1\)/);
    const short = refusal(g.checkAddress('10.1'));
    assert.match(short.reason, /"10\.1" is not written in canonical form: write it as 10\.0\.0\.1/);
    assert.match(refusal(g.checkAddress('evil.example')).reason, /is not an IP address or CIDR block/);
    assert.match(refusal(g.checkAddress('1.2.3.4/33')).reason, /an IPv4 prefix is at most \/32/);
    assert.match(refusal(g.checkAddress('9'.repeat(5000))).reason, /longer than any address/);
  });

  test('configured ranges use the same reading: a mapped or short spelling of a configured address is refused', () => {
    const c = new Guardrails(responseConfig({ guardrails: { protected_ips: ['10.0.0.0/8', '2001:db8:1::/48'] } }).guardrails);
    assert.match(refusal(c.checkAddress('::ffff:10.1.2.3')).reason, /\(read as 10\.1\.2\.3\) is in 10\.0\.0\.0\/8 \(listed in response\.guardrails\.protected_ips\)/);
    assert.match(refusal(c.checkAddress('10.0.0.0/7')).reason, /overlaps 10\.0\.0\.0\/8/);
    assert.match(refusal(c.checkAddress('2001:DB8:1:0::5')).reason, /is in 2001:db8:1::\/48/);
    assert.throws(() => new Guardrails(responseConfig({ guardrails: { protected_ips: ['not-a-range'] } }).guardrails), /response\.guardrails\.protected_ips: "not-a-range" is not an IP address/);
  });
});

describe("guardrails: Nyx's own hosts, resolved from their names", () => {
  const answers: Record<string, string[]> = {
    'es.corp.test': ['198.51.100.20', '2001:db8::20'],
    'kibana.corp.test': ['198.51.100.30'],
  };
  const lookups: string[] = [];
  const lookup = async (host: string): Promise<string[]> => {
    lookups.push(host);
    const found = answers[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };

  test('every A and AAAA address of every own host is protected, the reason names the host and the setting', async () => {
    const g = new Guardrails(responseConfig({ guardrails: { protected_hosts: ['https://kibana.corp.test:5601'] } }).guardrails, [], {
      ownHosts: [
        { host: 'es.corp.test', source: 'elasticsearch.url' },
        { host: '192.0.2.44', source: 'serve.host' },
      ],
      lookup,
    });
    await g.refreshOwnHosts(0);
    assert.equal(refusal(g.checkAddress('198.51.100.20')).reason, '198.51.100.20 is an address of es.corp.test (elasticsearch.url), protected by default');
    assert.match(refusal(g.checkAddress('2001:db8:0::20')).reason, /\(read as 2001:db8::20\) is an address of es\.corp\.test \(elasticsearch\.url\)/);
    assert.match(refusal(g.checkAddress('198.51.100.30')).reason, /is an address of kibana\.corp\.test \(response\.guardrails\.protected_hosts\)/);
    assert.match(refusal(g.checkAddress('192.0.2.44')).reason, /is Nyx's own host \(serve\.host\)/);
    assert.match(refusal(g.checkAddress('198.51.100.0/24')).reason, /^198\.51\.100\.0\/24 overlaps 198\.51\.100\.20 \(an address of es\.corp\.test/);
    assert.deepEqual(g.checkAddress('198.51.100.21'), { ok: true });
    // A step that names a host: by one of Nyx's own names, or by a protected address.
    assert.match(refusal(g.checkTarget({ kind: 'host', value: 'ES.corp.test.' })).reason, /^host es\.corp\.test is one of Nyx's own hosts \(elasticsearch\.url\)$/);
    assert.match(refusal(g.checkTarget({ kind: 'host', value: '127.1' })).reason, /\(read as 127\.0\.0\.1\) is in 127\.0\.0\.0\/8/);
    assert.deepEqual(g.checkTarget({ kind: 'host', value: 'web-7.corp.test' }), { ok: true });
  });

  test('fail closed: while an own hostname has never resolved every IP block is refused, naming it; a later failure keeps the last answer', async () => {
    let esAnswer: string[] | undefined;
    const flaky = async (host: string): Promise<string[]> => {
      if (!esAnswer) throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${host}`), { code: 'EAI_AGAIN' });
      return esAnswer;
    };
    const g = new Guardrails(responseConfig({ guardrails: { own_hosts_refresh_seconds: 60 } }).guardrails, [], { ownHosts: [{ host: 'es.corp.test', source: 'elasticsearch.url' }], lookup: flaky });
    await g.refreshOwnHosts(0);
    const r = refusal(g.checkAddress('203.0.113.7'));
    assert.equal(r.rule, 'protected_target');
    assert.equal(r.reason, 'cannot tell whether 203.0.113.7 is an address of es.corp.test (elasticsearch.url): the name does not resolve (EAI_AGAIN); IP blocks are refused until it does');
    assert.deepEqual(g.describeOwnHosts().unresolved, ['es.corp.test (elasticsearch.url): EAI_AGAIN']);
    // Accounts do not depend on DNS.
    assert.deepEqual(g.checkAccount('alice'), { ok: true });

    esAnswer = ['198.51.100.20'];
    await g.refreshOwnHosts(5_000);
    assert.equal(g.checkAddress('203.0.113.7').ok, false, 'a name that never resolved is asked again after 10 s, not before');
    await g.refreshOwnHosts(11_000);
    assert.deepEqual(g.checkAddress('203.0.113.7'), { ok: true });
    assert.match(refusal(g.checkAddress('198.51.100.20')).reason, /an address of es\.corp\.test/);

    esAnswer = ['198.51.100.21'];
    await g.refreshOwnHosts(40_000);
    assert.deepEqual(g.checkAddress('198.51.100.21'), { ok: true }, 'once resolved, the name is asked again every own_hosts_refresh_seconds');
    await g.refreshOwnHosts(72_000);
    assert.match(refusal(g.checkAddress('198.51.100.21')).reason, /an address of es\.corp\.test/);

    esAnswer = undefined;
    await g.refreshOwnHosts(200_000);
    assert.deepEqual(g.checkAddress('203.0.113.7'), { ok: true }, 'a DNS outage after a good answer does not stop blocks');
    assert.match(refusal(g.checkAddress('198.51.100.21')).reason, /an address of es\.corp\.test/, 'and the last known addresses stay protected');
  });

  test("the own hosts come from Nyx's config: Elasticsearch, the API, TheHive, Cortex, webhooks, firewalls, EC2, MISP feeds", () => {
    const config = configSchema.parse({
      elasticsearch: { url: 'https://nyx:secret@es-1.corp.test:9200' },
      serve: { host: '0.0.0.0' },
      response: {
        thehive: { url: 'https://hive.corp.test' },
        cortex: { url: 'http://[2001:db8::c]:9001' },
        webhooks: { soar: { url: 'https://soar.corp.test/hook' } },
        drivers: { opnsense: { url: 'https://fw.corp.test' }, ec2: { endpoint: 'http://127.0.0.1:5000' } },
      },
    });
    const hosts = ownHostsOf({ config, secrets: {} } as unknown as LoadedConfig, 'https://es-1.corp.test:9200');
    assert.deepEqual(hosts, [
      { host: 'es-1.corp.test', source: 'elasticsearch.url' },
      { host: '0.0.0.0', source: 'serve.host' },
      { host: 'hive.corp.test', source: 'response.thehive.url' },
      { host: '2001:db8::c', source: 'response.cortex.url' },
      { host: 'soar.corp.test', source: 'response.webhooks' },
      { host: 'fw.corp.test', source: 'response.drivers.opnsense.url' },
      { host: '127.0.0.1', source: 'response.drivers.ec2.endpoint' },
    ]);
    // A bind-all serve.host stands for every address of this machine.
    const g = new Guardrails(config.response.guardrails, [], { ownHosts: [{ host: '0.0.0.0', source: 'serve.host' }] });
    assert.ok(g.describeOwnHosts().protected.some((p) => / \(an address of this host \(serve\.host is 0\.0\.0\.0\)\)$/.test(p)), JSON.stringify(g.describeOwnHosts()));
  });

  test('the system resolver is the default: localhost resolves, a .invalid name fails closed', async () => {
    const g = new Guardrails(responseConfig().guardrails, [], { ownHosts: [{ host: 'localhost', source: 'elasticsearch.url' }, { host: 'nyx-guardrail-test.invalid', source: 'response.thehive.url' }] });
    await g.refreshOwnHosts(0);
    assert.match(refusal(g.checkAddress('203.0.113.7')).reason, /cannot tell whether 203\.0\.113\.7 is an address of nyx-guardrail-test\.invalid \(response\.thehive\.url\): the name does not resolve/);
    assert.ok(g.describeOwnHosts().protected.some((p) => /^127\.0\.0\.1 \(an address of localhost \(elasticsearch\.url\)\)$/.test(p)), JSON.stringify(g.describeOwnHosts()));
  });
});

describe('guardrails: critical accounts in every form', () => {
  const g = new Guardrails(responseConfig({ guardrails: { critical_accounts: ['admin', 'svc-backup', 'S-1-5-21-1004336348-1177238915-682003330-1105'] } }).guardrails);
  const cases: Array<[string, RegExp]> = [
    ['root', /^account root is root \(uid 0\): a critical account, never disabled$/],
    ['ROOT', /\(read as root\) is root \(uid 0\)/],
    ['0', /\(read as root\) is root \(uid 0\)/],
    ['uid=0', /\(read as root\) is root \(uid 0\)/],
    ['Administrator', /is the built-in Administrator/],
    ['CORP\\Administrator', /"CORP\\Administrator" \(read as administrator\) is the built-in Administrator/],
    ['administrator@corp.example', /\(read as administrator\) is the built-in Administrator/],
    ['NT AUTHORITY\\SYSTEM', /\(read as system\) is NT AUTHORITY\\SYSTEM/],
    ['admin', /^account admin is critical \(response\.guardrails\.critical_accounts: admin\)$/],
    ['DOMAIN\\admin', /\(read as admin\) is critical/],
    ['admin@domain', /\(read as admin\) is critical/],
    ['ADMIN', /\(read as admin\) is critical/],
    ['  Admin \n', /\(read as admin\) is critical/],
    ['"admin"', /\(read as admin\) is critical/],
    ['ａｄｍｉｎ', /\(read as admin\) is critical/], // fullwidth (NFKC)
    ['ad\u200bmin', /\(read as admin\) is critical/], // zero-width space
    ['аdmin', /\(read as admin\) is critical/], // Cyrillic а
    ['CORP/SVC-BACKUP', /\(read as svc-backup\) is critical/],
    ['S-1-5-18', /is SYSTEM \(S-1-5-18\)/],
    ['s-1-5-18', /is SYSTEM \(S-1-5-18\)/],
    ['S-1-5-32-544', /BUILTIN\\Administrators/],
    ['S-1-5-21-3623811015-3361044348-30300820-500', /is the built-in Administrator \(RID 500\)/],
    ['S-1-5-21-3623811015-3361044348-30300820-512', /is Domain Admins \(RID 512\)/],
    ['S-1-5-21-3623811015-3361044348-30300820-519', /is Enterprise Admins \(RID 519\)/],
    ['S-1-5-21-3623811015-3361044348-30300820-502', /is krbtgt \(RID 502\)/],
    ['s-1-5-21-1004336348-1177238915-682003330-1105', /is critical \(response\.guardrails\.critical_accounts: S-1-5-21-1004336348-1177238915-682003330-1105\)/],
  ];
  for (const [account, reason] of cases) {
    test(`refuses ${JSON.stringify(account)} with the reason`, () => {
      const r = refusal(g.checkTargets(targetsOf({ user: account }), {}, { user: account }));
      assert.equal(r.rule, 'protected_target');
      assert.match(r.reason, reason);
    });
  }

  test('ordinary accounts pass, and the built-ins hold even when the configured list replaces the defaults', () => {
    for (const ok of ['alice', 'CORP\\bob', 'carol@corp.example', 'S-1-5-21-3623811015-3361044348-30300820-1013', 'administrators-team', 'rootkit-victim']) assert.deepEqual(g.checkAccount(ok), { ok: true }, ok);
    const only = new Guardrails(responseConfig({ guardrails: { critical_accounts: ['breakglass'] } }).guardrails);
    assert.match(refusal(only.checkAccount('ROOT')).reason, /root \(uid 0\)/);
    assert.match(refusal(only.checkAccount('corp\\BreakGlass')).reason, /response\.guardrails\.critical_accounts: breakglass/);
    assert.deepEqual(targetsOf({ sid: 'S-1-5-18' }), [{ kind: 'account', value: 'S-1-5-18' }]);
  });
});

describe('drivers ask the guardrails again just before they act', () => {
  const ctx = (guard?: Guardrails): DriverContext => ({ client: {} as Client, log: getLogger('test'), ...(guard ? { guard } : {}) });

  test('nftables, with no engine: a protected address is refused before any nft call', async () => {
    // nft_path points nowhere: had the driver run nft, the outcome would be a spawn error, not a refusal.
    const driver = createNftablesDriver({ nft_path: '/nonexistent/nft', table: 'nyx_guard' });
    for (const ip of ['127.0.0.1', '::ffff:127.0.0.1', '224.0.0.251']) {
      const outcome = await driver.apply(ctx(), driver.parse({ ip }));
      assert.equal(outcome.ok, false);
      assert.deepEqual(outcome.calls, []);
      assert.match(outcome.summary, /^refused by guardrail protected_target: .*protected by default\); nothing changed$/);
    }
  });

  test("block_ip fan-out uses the engine's guardrails (own hosts) and reaches no backend", async () => {
    const fw = new FakeFirewall();
    const driver = createBlockIpDriver([fw.driver('block_ip_fake') as unknown as ActionDriver<BlockIpParams>]);
    const g = new Guardrails(responseConfig().guardrails, [], { ownHosts: [{ host: 'es.corp.test', source: 'elasticsearch.url' }], lookup: async () => ['198.51.100.20'] });
    await g.refreshOwnHosts(0);
    const refused = await driver.apply(ctx(g), driver.parse({ ip: '198.51.100.20' }));
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? '', /an address of es\.corp\.test \(elasticsearch\.url\)/);
    assert.deepEqual(fw.applied, []);
    const applied = await driver.apply(ctx(g), driver.parse({ ip: '203.0.113.9' }));
    assert.equal(applied.ok, true, applied.error);
    assert.deepEqual(fw.applied, ['203.0.113.9']);
  });

  test('disable_account refuses a critical account before running the lock command', async () => {
    const ran: string[][] = [];
    const runner = async (file: string, args: string[]) => {
      ran.push([file, ...args]);
      return { code: 0, stdout: '', stderr: '' };
    };
    const driver = createDisableAccountDriver(responseConfig().disable_account, createWebhookSender({}, {}), runner);
    const refused = await driver.apply(ctx(), driver.parse({ user: 'root' }));
    assert.equal(refused.ok, false);
    assert.match(refused.summary, /account root is root \(uid 0\): a critical account, never disabled/);
    const directory = await driver.apply(ctx(builtinGuardrails()), driver.parse({ user: 'Administrator@corp.example', method: 'directory' }));
    assert.match(directory.summary, /is the built-in Administrator/);
    assert.deepEqual(ran, []);
    const ok = await driver.apply(ctx(), driver.parse({ user: 'mallory' }));
    assert.equal(ok.ok, true);
    assert.deepEqual(ran, [['usermod', '-L', 'mallory']]);
  });
});
