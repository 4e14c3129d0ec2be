// A read right after its index was created meets the primary shard still starting (503
// no_shard_available_action_exception). The client factory's transport waits that out; a stock client does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, errors } from '@elastic/elasticsearch';
import { loadConfig } from '../../src/config/index.ts';
import { createElasticClient } from '../../src/elastic/client.ts';
import { testElasticUrl, uniqueNamespace } from '../support/elastic.ts';

/** Creates `rounds` fresh indices and reads a document from each at once; returns the errors other than 404. */
async function readsRightAfterCreate(client: Client, rounds: number): Promise<string[]> {
  const failures: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const index = `nyx-shard-start-${uniqueNamespace('s')}-${i}`;
    // wait_for_active_shards 0: answer before the primary has started, as an auto-created index does.
    await client.indices.create({ index, wait_for_active_shards: 0 });
    try {
      await client.get({ index, id: 'none' });
    } catch (err) {
      if (!(err instanceof errors.ResponseError && err.statusCode === 404)) failures.push(`${(err as errors.ResponseError).statusCode}: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      await client.indices.delete({ index });
    }
  }
  return failures;
}

test('reads that race a new index are retried until its shard has started', async () => {
  const url = testElasticUrl();
  const { config, secrets } = loadConfig({ env: { ELASTICSEARCH_URL: url } });
  const client = createElasticClient(config, secrets);
  try {
    assert.deepEqual(await readsRightAfterCreate(client, 10), []);
  } finally {
    await client.close();
  }
});

test('the race is real: a stock client with the same retries fails on it', async () => {
  const stock = new Client({ node: testElasticUrl(), maxRetries: 2 });
  try {
    const failures = await readsRightAfterCreate(stock, 10);
    assert.ok(failures.length > 0, 'expected at least one 503 while a new index starts');
    assert.match(failures[0]!, /^503/);
  } finally {
    await stock.close();
  }
});
