import { z } from 'zod';
import { FeedError, FeedHttp, describeUrl } from '../feeds/http.ts';

/**
 * A small MISP REST client of our own (over the feed HTTP layer: bounded, classified errors).
 * Request bodies follow MISP's OpenAPI spec (AttributeRestSearchFilter, AddSightingsRequest, EventNoId):
 * timestamps are digit strings, flags are booleans.
 */
export interface MispClientOptions {
  url: string;
  apiKey: string;
  timeoutMs?: number;
  maxBytes?: number;
  retries?: number;
  maxRetryAfterS?: number;
  authEnv?: string;
}

export interface AttributeSearch {
  /** Attributes modified at or after this epoch second. */
  timestamp: number;
  page: number;
  limit: number;
  toIdsOnly: boolean;
  deleted: boolean;
  includeDecayScore: boolean;
}

const tagSchema = z.object({ name: z.string() }).passthrough();
export const mispAttributeSchema = z
  .object({
    id: z.string(),
    event_id: z.string(),
    uuid: z.string().optional(),
    type: z.string(),
    category: z.string().optional(),
    value: z.string(),
    to_ids: z.boolean(),
    timestamp: z.string().regex(/^\d+$/),
    deleted: z.boolean().optional(),
    comment: z.string().nullish(),
    first_seen: z.string().nullish(),
    last_seen: z.string().nullish(),
    Tag: z.array(tagSchema).optional(),
    Event: z.object({ id: z.string().optional(), info: z.string().optional(), uuid: z.string().optional(), Tag: z.array(tagSchema).optional() }).passthrough().optional(),
    decay_score: z.array(z.object({ score: z.number(), decayed: z.boolean().optional() }).passthrough()).optional(),
  })
  .passthrough();
export type MispAttribute = z.infer<typeof mispAttributeSchema>;

export interface MispSighting {
  /** Attribute values seen in our data. */
  values: string[];
  /** When (epoch seconds); default now. */
  timestamp?: number;
}

export interface MispAlertEvent {
  info: string;
  /** 0 your org, 1 community, 2 connected, 3 all, 4 sharing group; default 0. */
  distribution?: 0 | 1 | 2 | 3 | 4;
  threatLevel?: 1 | 2 | 3 | 4;
  analysis?: 0 | 1 | 2;
  date?: string;
  attributes: Array<{ type: string; value: string; category?: string; to_ids?: boolean; comment?: string }>;
}

export class MispClient {
  private readonly http: FeedHttp;
  private readonly base: string;

  constructor(options: MispClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.http = new FeedHttp({
      maxBytes: options.maxBytes ?? 100 * 1024 * 1024,
      timeoutMs: options.timeoutMs ?? 60_000,
      retries: options.retries ?? 2,
      maxRetryAfterS: options.maxRetryAfterS ?? 60,
      headers: { Authorization: options.apiKey, Accept: 'application/json', 'Content-Type': 'application/json' },
      ...(options.authEnv ? { authEnv: options.authEnv } : {}),
    });
  }

  /** The restSearch body, exactly as sent (exported for the OpenAPI shape test). */
  static attributeSearchBody(search: AttributeSearch): Record<string, unknown> {
    return {
      returnFormat: 'json',
      page: search.page,
      limit: search.limit,
      timestamp: String(search.timestamp),
      deleted: search.deleted,
      includeEventTags: true,
      includeDecayScore: search.includeDecayScore,
      ...(search.toIdsOnly ? { to_ids: true } : {}),
    };
  }

  /** One page of attributes; rows that do not match the attribute shape are returned as rejects. */
  async searchAttributes(search: AttributeSearch): Promise<{ attributes: MispAttribute[]; rejected: string[]; rawCount: number }> {
    const url = `${this.base}/attributes/restSearch`;
    const body = await this.http.json(url, { method: 'POST', body: MispClient.attributeSearchBody(search) });
    const list = (body as { response?: { Attribute?: unknown } } | undefined)?.response?.Attribute;
    if (!Array.isArray(list)) {
      const message = (body as { message?: unknown; errors?: unknown })?.message;
      throw new FeedError('bad_payload', `${describeUrl(url)}: no response.Attribute list${typeof message === 'string' ? ` (${message.slice(0, 120)})` : ''}`);
    }
    const attributes: MispAttribute[] = [];
    const rejected: string[] = [];
    list.forEach((a, i) => {
      const parsed = mispAttributeSchema.safeParse(a);
      if (parsed.success) attributes.push(parsed.data);
      else rejected.push(`attribute ${i} on page ${search.page}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    });
    return { attributes, rejected, rawCount: list.length };
  }

  /** The sightings body, exactly as sent (AddSightingsRequest: values, timestamp). */
  static sightingBody(sighting: MispSighting): Record<string, unknown> {
    return { values: sighting.values, timestamp: String(sighting.timestamp ?? Math.floor(Date.now() / 1000)) };
  }

  /** Pushes a sighting (values seen in our data) back to MISP: POST /sightings/add. */
  async addSighting(sighting: MispSighting): Promise<void> {
    if (!sighting.values.length) return;
    await this.http.json(`${this.base}/sightings/add`, { method: 'POST', body: MispClient.sightingBody(sighting) });
  }

  /** The event body (EventNoId: ids and levels are digit strings). */
  static eventBody(event: MispAlertEvent): Record<string, unknown> {
    return {
      info: event.info.slice(0, 65535),
      distribution: String(event.distribution ?? 0),
      threat_level_id: String(event.threatLevel ?? 2),
      analysis: String(event.analysis ?? 1),
      date: event.date ?? new Date().toISOString().slice(0, 10),
      published: false,
    };
  }

  /** One attribute body (AttributeNoId). */
  static attributeBody(a: MispAlertEvent['attributes'][number]): Record<string, unknown> {
    return { type: a.type, value: a.value, category: a.category ?? 'Network activity', to_ids: a.to_ids ?? true, distribution: '5', ...(a.comment ? { comment: a.comment.slice(0, 65535) } : {}) };
  }

  /**
   * Creates an unpublished MISP event from a confirmed alert: POST /events/add, then each attribute with
   * POST /attributes/add/{eventId} (the documented shapes). Returns the event id.
   */
  async createEvent(event: MispAlertEvent): Promise<string> {
    const url = `${this.base}/events/add`;
    const body = await this.http.json(url, { method: 'POST', body: MispClient.eventBody(event) });
    const id = (body as { Event?: { id?: unknown } })?.Event?.id;
    if (typeof id !== 'string' && typeof id !== 'number') throw new FeedError('bad_payload', `${describeUrl(url)}: no Event.id in the answer`);
    for (const a of event.attributes) {
      await this.http.json(`${this.base}/attributes/add/${encodeURIComponent(String(id))}`, { method: 'POST', body: MispClient.attributeBody(a) });
    }
    return String(id);
  }
}

/** TLP from MISP tags (attribute tags win over event tags). */
export function mispTlp(attribute: MispAttribute): string | undefined {
  const tags = [...(attribute.Tag ?? []), ...(attribute.Event?.Tag ?? [])];
  return tags.map((t) => /^tlp:(.+)$/i.exec(t.name)?.[1]).find(Boolean);
}
