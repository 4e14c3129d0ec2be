import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendJson, startStub, type StubServer } from '../../intel/support/stub-http.ts';

const here = dirname(fileURLToPath(import.meta.url));

type Attribute = { timestamp: string; deleted?: boolean; to_ids?: boolean } & Record<string, unknown>;

export interface MispStub extends StubServer {
  attributes: Attribute[];
  sightings: unknown[];
  events: unknown[];
  attributesAdded: Array<{ eventId: string | undefined; body: unknown }>;
}

/**
 * MISP's REST API as far as Nyx uses it: POST /attributes/restSearch (timestamp, deleted, to_ids,
 * page/limit), POST /sightings/add, POST /events/add, POST /attributes/add/{eventId}; the key in the Authorization header; a bad key
 * answers 403 with MISP's JSON error. Also serves a MISP feed (manifest.json + <uuid>.json) under /feed/.
 */
export async function startMispStub(apiKey: string): Promise<MispStub> {
  const fixture = JSON.parse(readFileSync(join(here, 'attributes.json'), 'utf8')) as { attributes: Attribute[] };
  const extra = { attributes: fixture.attributes, sightings: [] as unknown[], events: [] as unknown[], attributesAdded: [] as Array<{ eventId: string | undefined; body: unknown }> };
  const stub = await startStub(
    (req, res) => {
      if (req.path.startsWith('/feed/')) {
        try {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          return res.end(readFileSync(join(here, 'feed', req.path.slice(6).replace(/[^a-z0-9.-]/gi, ''))));
        } catch {
          return sendJson(res, 404, { name: 'Not Found', message: 'Not Found', url: req.path });
        }
      }
      if (req.headers.authorization !== apiKey) {
        return sendJson(res, 403, { name: 'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.', message: 'Authentication failed.', url: req.path });
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (req.method === 'POST' && req.path === '/attributes/restSearch') {
        const since = Number(body.timestamp ?? 0);
        const deleted = body.deleted === true;
        const page = Number(body.page ?? 1);
        const limit = Number(body.limit ?? 1000);
        let rows = extra.attributes.filter((a) => Number(a.timestamp) >= since && (a.deleted === true) === deleted);
        if (body.to_ids === true) rows = rows.filter((a) => a.to_ids !== false);
        rows.sort((a, b) => Number(a.timestamp) - Number(b.timestamp));
        const slice = rows.slice((page - 1) * limit, page * limit).map((a) => {
          if (body.includeDecayScore) return a;
          const { decay_score: _d, ...rest } = a;
          return rest;
        });
        return sendJson(res, 200, { response: { Attribute: slice } });
      }
      if (req.method === 'POST' && req.path === '/sightings/add') {
        extra.sightings.push(body);
        return sendJson(res, 200, { Sighting: { id: String(extra.sightings.length), date_sighting: body.timestamp } });
      }
      if (req.method === 'POST' && req.path === '/events/add') {
        extra.events.push(body);
        return sendJson(res, 200, { Event: { id: String(100 + extra.events.length), info: body.info, uuid: '7b3f0000-0000-4000-8000-000000000001' } });
      }
      const add = /^\/attributes\/add\/(\d+)$/.exec(req.path);
      if (req.method === 'POST' && add) {
        extra.attributesAdded.push({ eventId: add[1], body });
        return sendJson(res, 200, { Attribute: { id: String(5000 + extra.attributesAdded.length), event_id: add[1], ...body } });
      }
      return sendJson(res, 404, { name: 'Not Found', message: 'Not Found', url: req.path });
    },
    { authError: (res, code) => sendJson(res, code, { name: 'Authentication failed.', message: 'Authentication failed.', url: '/' }) },
  );
  return Object.assign(stub, extra);
}
