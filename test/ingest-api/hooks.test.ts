import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { registerIngestHook, type IngestHookContext } from '../../src/ingest/hooks.ts';
import { agentEvent, operatorAuth, postJson, startTestApi, type IngestBody } from './support.ts';

const apis: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const a of apis) await a.close();
});

test('an ingest hook sees the ECS documents before indexing, may enrich them, and sees only first-time stores after', async () => {
  const api = await startTestApi();
  apis.push(api);
  const seen: Array<{ phase: string; ctx: IngestHookContext; commands: unknown[] }> = [];
  const unregister = registerIngestHook({
    name: 'test-matcher',
    onEvents(docs, ctx) {
      if (ctx.namespace !== api.namespace) return;
      seen.push({ phase: 'events', ctx, commands: docs.map((d) => (d.process as { command_line?: string } | undefined)?.command_line) });
      for (const d of docs) d.tags = ['hooked'];
    },
    onStored(docs, ctx) {
      if (ctx.namespace === api.namespace) seen.push({ phase: 'stored', ctx, commands: docs.map((d) => (d.process as { command_line?: string } | undefined)?.command_line) });
    },
  });
  const broken = registerIngestHook({
    name: 'test-broken',
    onEvents() {
      throw new Error('a hook bug');
    },
  });
  try {
    const { key } = await api.enroll();
    const batch = [agentEvent({ cmd: 'curl evil.example', seq: 1 })];
    const first = await postJson(`${api.url}/api/ingest`, batch, { 'x-agent-key': key });
    assert.equal((first.body as IngestBody).stored, 1, 'a throwing hook costs no event');
    await postJson(`${api.url}/api/ingest`, batch, { 'x-agent-key': key });
    assert.deepEqual(
      seen.map((s) => [s.phase, s.commands]),
      [
        ['events', ['curl evil.example']],
        ['stored', ['curl evil.example']],
        ['events', ['curl evil.example']],
        ['stored', []],
      ].filter(([, c]) => (c as unknown[]).length > 0),
    );
    assert.equal(seen[0]?.ctx.source, 'endpoint');
    assert.equal(seen[0]?.ctx.dataStream, `logs-endpoint-${api.namespace}`);
    await api.ctx.client.indices.refresh({ index: `logs-endpoint-${api.namespace}` });
    const res = await api.ctx.client.search({ index: `logs-endpoint-${api.namespace}` });
    assert.deepEqual((res.hits.hits[0]?._source as { tags?: string[] }).tags, ['hooked']);
    const metrics = await fetch(`${api.url}/metrics`, { headers: operatorAuth }).then((r) => r.text());
    assert.match(metrics, /nyx_ingest_hook_failures_total\{hook="test-broken"\} 2/);
  } finally {
    unregister();
    broken();
  }
});
