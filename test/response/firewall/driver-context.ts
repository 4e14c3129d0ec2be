import { Client } from '@elastic/elasticsearch';
import { getLogger } from '../../../src/log/logger.ts';
import type { DriverContext } from '../../../src/response/driver.ts';

/**
 * A DriverContext for driver tests: these drivers never touch Elasticsearch, so the client points at
 * a closed loopback port and is never called.
 */
export function driverContext(signal?: AbortSignal): DriverContext {
  return { client: new Client({ node: 'http://127.0.0.1:9' }), log: getLogger('test.response'), ...(signal ? { signal } : {}) };
}
