import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/index.ts';
import { loadAssetCatalog, DEFAULT_ASSETS_DIR } from '../../src/assets/catalog.ts';
import { buildDesiredAssets, ECS_COMPONENT } from '../../src/bootstrap/desired.ts';
import { detectCapabilities, type ClusterCapabilities } from '../../src/elastic/capabilities.ts';
import { dataStreamOfIndex, scopeToNamespace } from '../../src/elastic/tenancy.ts';
import { runNyx } from '../support/cli.ts';
import { testClient, testElasticUrl } from '../support/elastic.ts';

// Issue 19, class 2: data_stream.* is constant_keyword wherever the cluster has the mapper, keyword where it does
// not (the minimal distribution), and `nyx status` / `nyx plan` say which.

type DataStreamFields = Record<'type' | 'dataset' | 'namespace', { type: string }>;

/** data_stream.* of every asset that maps it, by asset name. */
function dataStreamMappings(caps: ClusterCapabilities): Map<string, DataStreamFields> {
  const out = new Map<string, DataStreamFields>();
  for (const asset of buildDesiredAssets(loadAssetCatalog(DEFAULT_ASSETS_DIR), configSchema.parse({}), caps)) {
    const fields = (asset.body.template as { mappings?: { properties?: { data_stream?: { properties?: DataStreamFields } } } } | undefined)?.mappings?.properties?.data_stream?.properties;
    if (fields) out.set(asset.name, fields);
  }
  return out;
}

const offline: ClusterCapabilities = {
  version: '9.2.8', major: 9, buildFlavor: 'default', license: null, modules: [], ingestProcessors: [],
  ml: { available: false, reason: 'test' }, dataStreamApi: false, percolator: false, painless: false, constantKeyword: false,
};

test('every template that maps data_stream maps type, dataset and namespace as constant_keyword when the cluster has the mapper, keyword when not', () => {
  const withMapper = dataStreamMappings({ ...offline, modules: ['constant-keyword'], constantKeyword: true });
  assert.ok(withMapper.has(ECS_COMPONENT) && withMapper.has('nyx-ti-indicators'), [...withMapper.keys()].join(', '));
  for (const [name, fields] of withMapper) {
    for (const f of ['type', 'dataset', 'namespace'] as const) assert.deepEqual(fields[f], { type: 'constant_keyword' }, `${name} data_stream.${f}`);
  }
  for (const [name, fields] of dataStreamMappings(offline)) {
    for (const f of ['type', 'dataset', 'namespace'] as const) assert.equal(fields[f].type, 'keyword', `${name} data_stream.${f}`);
  }
});

test('the real cluster: the capability follows its modules, and `nyx status` and `nyx plan` say how data_stream is mapped', async () => {
  const client = testClient();
  try {
    const caps = await detectCapabilities(client, testElasticUrl());
    assert.equal(caps.constantKeyword, caps.modules.includes('constant-keyword'));
    const env = { ELASTICSEARCH_URL: testElasticUrl() };
    const expected = caps.constantKeyword ? /data_stream\.\* constant_keyword/ : /data_stream\.\* keyword \(the cluster has no constant-keyword module\); tenants selected by data stream name/;
    const status = await runNyx(['status'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`tenant fields: +${expected.source}`));
    const plan = await runNyx(['plan'], env);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`Tenant fields: ${expected.source}`));
  } finally {
    await client.close();
  }
});

test('a tenant is read from an index name and index patterns are narrowed to one tenant by name', () => {
  assert.deepEqual(dataStreamOfIndex('.ds-logs-endpoint-acme-2026.01.01-000001'), { name: 'logs-endpoint-acme', type: 'logs', dataset: 'endpoint', namespace: 'acme' });
  assert.deepEqual(dataStreamOfIndex('logs-ti_nyx.misp-acme'), { name: 'logs-ti_nyx.misp-acme', type: 'logs', dataset: 'ti_nyx.misp', namespace: 'acme' });
  assert.equal(dataStreamOfIndex('nyx-state'), undefined);
  assert.deepEqual(scopeToNamespace(['logs-endpoint-*', 'logs-*', 'logs-syslog-acme', 'logs-syslog-other'], 'acme'), ['logs-endpoint-acme', 'logs-*-acme', 'logs-syslog-acme']);
  assert.deepEqual(scopeToNamespace(['logs-syslog-other'], 'acme'), []);
});
