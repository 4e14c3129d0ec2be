import { randomBytes } from 'node:crypto';
import { errors, type Client } from '@elastic/elasticsearch';
import { z } from 'zod';

export const DOWNLOADS_INDEX = 'nyx-agent-downloads';

/** One agent-bundle download: who, what, from where, when. The embedded token itself is never recorded. */
const downloadRecordSchema = z.object({
  '@timestamp': z.string(),
  download_id: z.string(),
  operator: z.object({ name: z.string().optional(), credential: z.string() }),
  client: z.object({ ip: z.string(), user_agent: z.string().optional() }),
  platform: z.enum(['linux', 'windows']),
  namespace: z.string(),
  server: z.string(),
  token_id: z.string(),
  token_expires_at: z.string(),
  file: z.object({ name: z.string(), size: z.number().int(), sha256: z.string() }),
});
export type DownloadRecord = z.infer<typeof downloadRecordSchema>;

/** The append-only audit of agent downloads, in Elasticsearch like every other piece of Nyx state. */
export class AgentDownloads {
  constructor(private readonly client: Client) {}

  /** Stores the record (visible to searches on return) and gives back its id. */
  async record(input: Omit<DownloadRecord, 'download_id' | '@timestamp'> & { at?: Date }): Promise<DownloadRecord> {
    const { at, ...rest } = input;
    const record: DownloadRecord = { '@timestamp': (at ?? new Date()).toISOString(), download_id: randomBytes(12).toString('base64url'), ...rest };
    await this.client.create({ index: DOWNLOADS_INDEX, id: record.download_id, document: record, refresh: 'wait_for' });
    return record;
  }

  /** Newest first, optionally one namespace's. */
  async list(options: { namespace?: string; size?: number } = {}): Promise<DownloadRecord[]> {
    try {
      const res = await this.client.search({
        index: DOWNLOADS_INDEX,
        size: options.size ?? 1000,
        sort: [{ '@timestamp': 'desc' }],
        query: options.namespace ? { term: { namespace: options.namespace } } : { match_all: {} },
      });
      return res.hits.hits.flatMap((h) => {
        const parsed = downloadRecordSchema.safeParse(h._source);
        return parsed.success ? [parsed.data] : [];
      });
    } catch (err) {
      if (err instanceof errors.ResponseError && err.statusCode === 404) return [];
      throw err;
    }
  }
}
