import { errors, type Client } from '@elastic/elasticsearch';
import type { z } from 'zod';

/**
 * Durable service state (rule checkpoints, feed cursors) in Elasticsearch, so services stay stateless
 * and a replica that takes over continues where the last one stopped. Values are validated on read.
 */
export const STATE_INDEX = 'nyx-state';

export class StateStore {
  constructor(
    private readonly client: Client,
    private readonly index = STATE_INDEX,
  ) {}

  async get<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    try {
      const res = await this.client.get<{ value: unknown }>({ index: this.index, id: key });
      const parsed = schema.safeParse(res._source?.value);
      return parsed.success ? parsed.data : undefined;
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async put(key: string, kind: string, value: unknown): Promise<void> {
    await this.client.index({ index: this.index, id: key, document: { key, kind, updated_at: new Date().toISOString(), value }, refresh: 'wait_for' });
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.delete({ index: this.index, id: key });
    } catch (err) {
      if (!(err instanceof errors.ResponseError && err.statusCode === 404)) throw err;
    }
  }
}
