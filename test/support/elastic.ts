import { randomBytes } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { loadConfig } from '../../src/config/index.ts';
import { createElasticClient } from '../../src/elastic/client.ts';

/** The suite's cluster: started by test/run.js, or the one ELASTICSEARCH_URL names. */
export function testElasticUrl(): string {
  const url = process.env.ELASTICSEARCH_URL;
  if (!url) throw new Error('ELASTICSEARCH_URL is not set: run tests through `npm test`');
  return url;
}

/** A client from Nyx's own factory (so tests meet the cluster as Nyx does), with a patient timeout. */
export function testClient(): Client {
  const { config, secrets } = loadConfig({ env: { ELASTICSEARCH_URL: testElasticUrl(), NYX__ELASTICSEARCH__REQUEST_TIMEOUT_MS: '60000' } });
  return createElasticClient(config, secrets);
}

/** A data-stream namespace of the test's own, so tests never see each other's documents. */
export function uniqueNamespace(prefix = 't'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}
