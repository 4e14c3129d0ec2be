import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';

/** The suite's cluster: started by test/run.js, or the one ELASTICSEARCH_URL names. */
export function testElasticUrl(): string {
  const url = process.env.ELASTICSEARCH_URL;
  if (!url) throw new Error('ELASTICSEARCH_URL is not set: run tests through `npm test`');
  return url;
}

export function testClient(): Client {
  return new Client({ node: testElasticUrl(), requestTimeout: 60_000 });
}

/** A data-stream namespace of the test's own, so tests never see each other's documents. */
export function uniqueNamespace(prefix = 't'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}
