import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CveStore } from '../../src/intel/cves/index.ts';
import { cveFromNvd } from '../../src/intel/sources/nvd.ts';
import { recordSoftwareInventory, vulnerabilityReport } from '../../src/vulns/index.ts';
import { runNyx } from '../support/cli.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';
import { bootstrapped, enrichmentConfig, ingestAgentEvents } from '../enrichment/support.ts';

/** One vulnerabilities[] item as NVD's API 2.0 serves it. */
function nvdItem(id: string, product: string, score: number, match: Record<string, string>, extra: Record<string, unknown> = {}): unknown {
  return {
    cve: {
      id,
      vulnStatus: 'Analyzed',
      published: '2025-01-10T12:00:00.000',
      lastModified: '2025-02-01T08:00:00.000',
      descriptions: [{ lang: 'en', value: `${product} flaw ${id}` }],
      metrics: { cvssMetricV31: [{ source: 'nvd@nist.gov', type: 'Primary', cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: score, baseSeverity: score >= 9 ? 'CRITICAL' : 'HIGH' } }] },
      weaknesses: [{ source: 'nvd@nist.gov', type: 'Primary', description: [{ lang: 'en', value: 'CWE-787' }] }],
      configurations: [{ nodes: [{ operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: `cpe:2.3:a:acme:${product}:*:*:*:*:*:*:*:*`, matchCriteriaId: '00000000-0000-0000-0000-000000000000', ...match }] }] }],
      references: [{ url: 'https://example.org/advisory', source: 'example' }],
      ...extra,
    },
  };
}

test('installed software is matched to CVEs by CPE and version range; the backlog puts known-exploited first, then CVSS, then exposure', async () => {
  const ctx = await bootstrapped();
  const ns = uniqueNamespace('vuln');
  const tag = randomBytes(3).toString('hex');
  const web = `webd${tag}`;
  const lib = `libfoo${tag}`;
  const tool = `tool${tag}`;
  const year = 2000 + (parseInt(tag, 16) % 50);
  const id = (n: number) => `CVE-${year}-${parseInt(tag, 16) * 10 + n}`;
  const cves = [
    nvdItem(id(1), web, 9.8, { versionStartIncluding: '2.0', versionEndExcluding: '2.4.58' }),
    nvdItem(id(2), lib, 6.5, { versionEndIncluding: '1.2.3' }),
    nvdItem(id(3), web, 7.5, { versionStartExcluding: '2.4.52', versionEndExcluding: '2.4.55' }),
    nvdItem(id(4), tool, 8.8, { versionEndExcluding: '3.0' }),
    nvdItem(id(5), lib, 5.3, { versionStartIncluding: '1.3' }),
  ].map((item) => {
    const cve = cveFromNvd(item);
    if (typeof cve === 'string') throw new Error(cve);
    return cve;
  });
  const store = new CveStore(ctx.client);
  await store.upsertCves(cves);
  // CISA KEV lists the medium-CVSS library flaw: it must come before the critical one.
  await store.upsertKev([{ id: id(2), kev: { dateAdded: '2025-03-01', dueDate: '2025-03-22', knownRansomware: false } }]);
  await store.refresh();

  await recordSoftwareInventory(ctx.client, ns, [
    { host: 'web-1', name: web, version: '1:2.4.52-1ubuntu4.6', type: 'deb' },
    { host: 'web-1', name: lib, version: '1.2.3-1', type: 'deb' },
    { host: 'web-1', name: tool, version: '3.0.1-2.el9', type: 'rpm' },
    { host: 'db-1', name: lib, version: '1.3.0-4.el9', type: 'rpm' },
    { host: 'db-1', name: tool, version: '2.9-1.el9', type: 'rpm' },
    { host: 'clean-1', name: web, version: '2.4.58-1', type: 'deb' },
  ], { refresh: true });
  const config = enrichmentConfig({}, ns);
  await ingestAgentEvents(ctx, config, ns, [
    { ts: new Date().toISOString(), host: 'web-1', category: 'network', transport: 'tcp', state: 'listen', dst_ip: '0.0.0.0', dst_port: 443, process_name: web },
    { ts: new Date().toISOString(), host: 'web-1', category: 'network', transport: 'tcp', state: 'listen', dst_ip: '0.0.0.0', dst_port: 22, process_name: 'sshd' },
  ]);

  const report = await vulnerabilityReport(ctx.client, ns, { inventoryMaxAgeDays: 7, exposureDays: 7 });
  const byHost = new Map(report.hosts.map((h) => [h.host, h]));
  const w = byHost.get('web-1')!;
  assert.deepEqual(w.backlog.map((b) => [b.cve, b.package, b.known_exploited, b.cvss, b.listening_ports]), [
    [id(2), lib, true, 6.5, []],
    [id(1), web, false, 9.8, [443]],
  ], 'KEV first, then CVSS; 2.4.52 is outside (2.4.52, 2.4.55) and the tool at 3.0.1 is past its fix');
  assert.deepEqual(w.vulnerable_packages.map((p) => p.name).sort(), [lib, web].sort());
  assert.equal(w.backlog[1]!.fixed_in, '2.4.58');
  assert.deepEqual(w.listening.map((s) => s.port), [22, 443]);

  const d = byHost.get('db-1')!;
  assert.deepEqual(d.backlog.map((b) => b.cve), [id(4), id(5)], 'rpm 2.9 < 3.0; 1.3.0 ≥ 1.3 and past 1.2.3');

  const clean = byHost.get('clean-1')!;
  assert.equal(clean.backlog.length, 0);
  assert.equal(clean.vulnerability_score, 0);
  assert.ok(w.vulnerability_score > d.vulnerability_score, 'a known-exploited, exposed host scores higher');
  assert.equal(report.hosts[0]!.host, 'web-1', 'hosts are ordered by score');

  const one = await vulnerabilityReport(ctx.client, ns, { host: 'db-1', inventoryMaxAgeDays: 7, exposureDays: 7 });
  assert.deepEqual(one.hosts.map((h) => h.host), ['db-1']);

  const env = { ELASTICSEARCH_URL: testElasticUrl(), NYX_NAMESPACE: ns };
  const cli = await runNyx(['vulns', '--host', 'web-1'], env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /web-1\s+\d+\.\d\s+3\s+2\s+2\s+1\s+22\/tcp, 443\/tcp/);
  assert.match(cli.stdout, new RegExp(`1\\s+${id(2)}\\s+${lib}.*yes \\(due 2025-03-22\\)`));
  const json = await runNyx(['vulns', '--json'], env);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { hosts: Array<{ host: string; vulnerability_score: number; backlog: unknown[] }> };
  assert.deepEqual(parsed.hosts.map((h) => h.host), report.hosts.map((h) => h.host));
  const none = await runNyx(['vulns', '--host', 'nowhere'], env);
  assert.match(none.stdout, /no software inventory for host nowhere/);
});

test('package events reaching the ingest path become inventory; bad rows are reported, the rest written', async () => {
  const ctx = await bootstrapped();
  const ns = uniqueNamespace('inv');
  const { softwareInventoryHook, readSoftwareInventory, recordSoftwareInventory } = await import('../../src/vulns/index.ts');
  const hook = softwareInventoryHook(ctx.client);
  await hook.onStored!(
    [
      { host: { name: 'h1' }, package: { name: 'curl', version: '7.88.1-10+deb12u5', type: 'deb', architecture: 'amd64' } },
      { host: { name: 'h1' }, event: { category: ['network'] } },
      { host: { name: 'h2' }, package: { name: 'openssl-libs', version: '1:3.0.7-27.el9', type: 'rpm' } },
    ],
    { namespace: ns, source: 'endpoint', dataStream: `logs-endpoint-${ns}`, agentId: 'a', normalised: true },
  );
  const bad = await recordSoftwareInventory(ctx.client, ns, [{ host: 'h3', name: '', version: '1' }, { host: 'h3', name: 'zlib1g', version: '1:1.2.13.dfsg-1', type: 'deb' }], { refresh: true });
  assert.deepEqual(bad.rejected.map((r) => r.reason), ['name: Too small: expected string to have >=1 characters']);
  assert.equal(bad.written, 1);
  const inventory = await readSoftwareInventory(ctx.client, ns, { maxAgeDays: 1 });
  assert.deepEqual(inventory.map((p) => [p.host, p.name, p.type]).sort(), [['h1', 'curl', 'deb'], ['h2', 'openssl-libs', 'rpm'], ['h3', 'zlib1g', 'deb']]);
});
