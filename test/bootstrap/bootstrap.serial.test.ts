import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { connectElastic } from '../../src/elastic/connect.ts';
import { DEFAULT_ASSETS_DIR } from '../../src/assets/catalog.ts';
import { planBootstrap, runBootstrap, stackStatus, uninstallStack } from '../../src/bootstrap/index.ts';
import { testElasticUrl } from '../support/elastic.ts';

// One file, run in order: these tests change the cluster-wide templates and put them back at the end.
const { config, secrets } = loadConfig({ env: { ELASTICSEARCH_URL: testElasticUrl() } });
const ctx = await connectElastic(config, secrets);

function copyAssets(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nyx-assets-'));
  cpSync(DEFAULT_ASSETS_DIR, dir, { recursive: true });
  return dir;
}

test('bootstrap installs every asset the cluster can take, and skips the rest with a reason', async () => {
  await runBootstrap(ctx, config);
  const plan = await planBootstrap(ctx, config);
  const byName = new Map(plan.map((e) => [e.asset, e]));
  for (const s of ['syslog', 'netflow', 'endpoint', 'filebeat', 'packetbeat', 'winlogbeat', 'cowrie']) {
    assert.equal(byName.get(`logs-${s}`)?.action, 'unchanged', `index template logs-${s}`);
    assert.equal(byName.get(`logs-${s}@package`)?.action, 'unchanged');
    assert.equal(byName.get(`logs-${s}@custom`)?.hook, true);
  }
  // This cluster (minimal distribution) has no ML and no ingest processors: skipped, never a crash.
  assert.equal(byName.get('anomaly_traffic')?.action, 'skip');
  assert.match(byName.get('anomaly_traffic')?.reason ?? '', /machine-learning|ML|license/i);
  assert.equal(byName.get('anomaly_login')?.action, 'skip');
  assert.match(byName.get('logs-syslog@nyx')?.reason ?? '', /runs in Nyx: the cluster lacks processors/);
});

test('a second bootstrap right after changes nothing', async () => {
  const second = await runBootstrap(ctx, config);
  assert.equal(second.applied.length, 0);
  assert.deepEqual([...new Set(second.plan.map((e) => e.action))].sort(), ['skip', 'unchanged']);
});

test('installed assets carry _meta.managed_by nyx and a version; settings follow the config', async () => {
  const res = await ctx.client.cluster.getComponentTemplate({ name: 'logs-cowrie@package' });
  const tpl = res.component_templates[0]!.component_template;
  assert.equal(tpl._meta?.managed_by, 'nyx');
  assert.equal(typeof tpl._meta?.version, 'number');
  const settings = tpl.template.settings as { index?: { codec?: string; auto_expand_replicas?: string } };
  assert.equal(settings.index?.codec, 'best_compression');
  // Issue 19: by default a second node gets a copy of every shard, so losing one does not stop writes.
  assert.equal(settings.index?.auto_expand_replicas, '0-1');
  assert.equal((tpl.template as { lifecycle?: { data_retention?: string } }).lifecycle?.data_retention, '30d');

  const custom = { ...config, sources: { cowrie: { retention_days: 90, replicas: 1 } } };
  const plan = await planBootstrap(ctx, custom);
  const entry = plan.find((e) => e.asset === 'logs-cowrie@package');
  assert.equal(entry?.action, 'update');
  assert.ok(entry?.diff?.includes('~ template.lifecycle.data_retention: 30d → 90d'), entry?.diff?.join('\n'));
  assert.ok(entry?.diff?.includes('~ template.settings.index.number_of_replicas: 0 → 1'), entry?.diff?.join('\n'));
  assert.ok(entry?.diff?.includes('- template.settings.index.auto_expand_replicas: 0-1'), entry?.diff?.join('\n'));
});

test('a managed asset changed in the cluster shows as drifted with a readable diff, and bootstrap restores it', async () => {
  const res = await ctx.client.cluster.getComponentTemplate({ name: 'logs-syslog@package' });
  const current = res.component_templates[0]!.component_template;
  const template = structuredClone(current.template) as { settings: { index: Record<string, unknown> } };
  template.settings.index.number_of_replicas = '3';
  await ctx.client.cluster.putComponentTemplate({ name: 'logs-syslog@package', template: template as never, _meta: current._meta });

  const plan = await planBootstrap(ctx, config);
  const drifted = plan.filter((e) => e.action === 'drifted');
  assert.deepEqual(drifted.map((e) => e.asset), ['logs-syslog@package']);
  assert.deepEqual(drifted[0]?.diff, ['~ template.settings.index.number_of_replicas: 3 → 0']);

  const fixed = await runBootstrap(ctx, config);
  assert.deepEqual(fixed.applied.map((e) => e.asset), ['logs-syslog@package']);
  assert.equal((await planBootstrap(ctx, config)).filter((e) => e.action !== 'unchanged' && e.action !== 'skip').length, 0);
});

test('a newer asset version upgrades in place and keeps the user @custom hooks', async () => {
  // The user's own hook: an extra field mapping.
  await ctx.client.cluster.putComponentTemplate({ name: 'logs-syslog@custom', template: { mappings: { properties: { site: { type: 'keyword' } } } } });
  const dir = copyAssets();
  const file = join(dir, 'syslog.yml');
  const text = readFileSync(file, 'utf8');
  const version = Number(/^version:\s*(\d+)/m.exec(text)?.[1]);
  writeFileSync(file, text.replace(/^version:\s*\d+/m, `version: ${version + 1}`));

  const plan = await planBootstrap(ctx, config, { assetsDir: dir });
  const changed = plan.filter((e) => e.action === 'update').map((e) => e.asset).sort();
  assert.ok(changed.includes('logs-syslog@package'), changed.join(','));
  assert.ok(changed.includes('logs-syslog'), changed.join(','));
  assert.equal(plan.find((e) => e.asset === 'logs-syslog@package')?.reason, `version ${version} → ${version + 1}`);
  assert.equal(plan.find((e) => e.asset === 'logs-syslog@custom')?.action, 'unchanged');

  await runBootstrap(ctx, config, { assetsDir: dir });
  const pkg = await ctx.client.cluster.getComponentTemplate({ name: 'logs-syslog@package' });
  assert.equal(pkg.component_templates[0]!.component_template._meta?.version, version + 1);
  const custom = await ctx.client.cluster.getComponentTemplate({ name: 'logs-syslog@custom' });
  assert.deepEqual(custom.component_templates[0]!.component_template.template.mappings, { properties: { site: { type: 'keyword' } } });

  // Back to the shipped version (a downgrade is an update too).
  await runBootstrap(ctx, config);
  assert.equal((await planBootstrap(ctx, config)).filter((e) => e.action === 'update').length, 0);
});

test('uninstall removes only what Nyx manages; data and user hooks stay', async () => {
  await ctx.client.index({ index: 'logs-syslog-uninstalltest', op_type: 'create', document: { '@timestamp': new Date().toISOString(), message: 'kept' }, refresh: true });
  const result = await uninstallStack(ctx, config);
  const byName = new Map(result.assets.map((a) => [a.asset, a]));
  // A template that a data stream still uses stays (Elasticsearch refuses otherwise), with the reason.
  assert.equal(byName.get('logs-syslog')?.result, 'kept');
  assert.match(byName.get('logs-syslog')?.reason ?? '', /in use by a data streams? \[.*logs-syslog-uninstalltest/);
  for (const a of result.assets) {
    if (a.asset.endsWith('@custom')) assert.equal(a.result, 'kept', `${a.asset} is a user hook`);
    else if (a.result === 'kept') assert.match(a.reason ?? '', /in use/, `${a.asset} kept only when in use`);
  }
  // Pipelines are never in use by a template in the cluster's eyes: the managed ones that were installed go.
  assert.ok(result.assets.filter((a) => a.kind === 'ingest_pipeline' && !a.asset.endsWith('@custom')).every((a) => a.result !== 'kept'));
  assert.deepEqual(new Set(result.data.map((d) => d.result)), new Set(['kept']));
  const hooks = await ctx.client.cluster.getComponentTemplate({ name: 'logs-syslog@custom' });
  assert.equal(hooks.component_templates.length, 1);
  const count = await ctx.client.count({ index: 'logs-syslog-uninstalltest' });
  assert.equal(count.count, 1);

  // Put everything back for the rest of the suite.
  await runBootstrap(ctx, config);
  const status = await stackStatus(ctx, config);
  assert.ok(status.assets.every((e) => e.action === 'unchanged' || e.action === 'skip'));
  assert.ok(status.dataStreams.find((d) => d.source === 'syslog')!.documents >= 1);
});

test('--purge-data is refused with a reason on a cluster without the data stream API', async () => {
  const result = await uninstallStack(ctx, config, { purgeData: true });
  assert.ok(result.data.every((d) => d.result === 'not possible' && /data-streams module/.test(d.reason ?? '')));
  await runBootstrap(ctx, config);
});
