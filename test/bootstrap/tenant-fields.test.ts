import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/index.ts';
import { loadAssetCatalog, DEFAULT_ASSETS_DIR } from '../../src/assets/catalog.ts';
import { buildDesiredAssets, DATA_STREAM_STAMP_PIPELINE, ECS_COMPONENT } from '../../src/bootstrap/desired.ts';
import { compilePipeline, type PipelineDefinition } from '../../src/pipeline-runner/index.ts';
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

test("a cluster that runs pipelines gets every data stream a final pipeline that sets data_stream from the data stream's name, whatever the document said", () => {
  const catalog = loadAssetCatalog(DEFAULT_ASSETS_DIR);
  const stamp = compilePipeline(catalog.dataStreamStamp.pipeline as PipelineDefinition);
  // What a source pipeline could leave after parsing an agent's record into the root (json with add_to_root).
  const doc = { message: 'x', data_stream: { namespace: 'globex', 'namespace.x': 'y' }, 'data_stream.type': 'metrics', 'data_stream.namespace': 'globex', host: { name: 'h' } };
  const out = stamp.run(doc, { _index: 'logs-cowrie-acme' });
  assert.equal(out.error, undefined);
  assert.deepEqual(out.doc, { message: 'x', host: { name: 'h' }, data_stream: { type: 'logs', dataset: 'cowrie', namespace: 'acme' } });

  // Installed, and named as every Nyx data stream's final pipeline, where the cluster has its processors; else skipped
  // (Nyx stamps after its own pipeline run) and the templates are as before.
  const full = { ...offline, ingestProcessors: ['dissect', 'dot_expander', 'remove'] };
  const withStamp = buildDesiredAssets(catalog, configSchema.parse({}), full);
  assert.equal(withStamp.find((a) => a.name === DATA_STREAM_STAMP_PIPELINE)?.skip, undefined);
  const finalPipelines = withStamp.filter((a) => a.name.endsWith('@package') && a.name.startsWith('logs-')).map((a) => (a.body.template as { settings: { index: { final_pipeline?: string } } }).settings.index.final_pipeline);
  assert.equal(finalPipelines.length, 7);
  assert.ok(finalPipelines.every((p) => p === DATA_STREAM_STAMP_PIPELINE), JSON.stringify(finalPipelines));
  const minimal = buildDesiredAssets(catalog, configSchema.parse({}), offline);
  assert.match(minimal.find((a) => a.name === DATA_STREAM_STAMP_PIPELINE)?.skip ?? '', /data_stream is stamped after Nyx runs the source pipeline/);
  assert.ok(minimal.every((a) => !(a.body.template as { settings?: { index?: { final_pipeline?: string } } } | undefined)?.settings?.index?.final_pipeline));
});
