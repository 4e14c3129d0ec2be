import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendJson, startStub, type StubServer } from '../../intel/support/stub-http.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(here, name), 'utf8'));

/**
 * abuse.ch APIs with the Auth-Key header they require: URLhaus GET /v1/urls/recent/ (and
 * /v1/urls/recent/limit/<n>/), ThreatFox POST /api/v1/ {query: get_iocs, days}, Feodo Tracker
 * /downloads/ipblocklist.json. A missing or wrong key answers 401 with query_status unknown_auth_key.
 */
export async function startAbusechStub(authKey: string): Promise<StubServer> {
  return startStub((req, res) => {
    if (req.headers['auth-key'] !== authKey) return sendJson(res, 401, { query_status: 'unknown_auth_key' });
    if (req.path.startsWith('/v1/urls/recent')) return sendJson(res, 200, fixture('urlhaus-recent.json'));
    if (req.path === '/api/v1/' && req.method === 'POST') {
      const body = req.body as { query?: string; days?: number };
      if (body?.query !== 'get_iocs') return sendJson(res, 200, { query_status: 'unknown_query' });
      if (!Number.isInteger(body.days) || (body.days ?? 0) < 1 || (body.days ?? 0) > 7) return sendJson(res, 200, { query_status: 'illegal_days' });
      return sendJson(res, 200, fixture('threatfox-get_iocs.json'));
    }
    if (req.path === '/downloads/ipblocklist.json') return sendJson(res, 200, fixture('feodo-ipblocklist.json'));
    return sendJson(res, 404, { query_status: 'not_found' });
  });
}
