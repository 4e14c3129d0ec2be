import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendJson, startStub, type StubServer } from '../../intel/support/stub-http.ts';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * OTX DirectConnect GET /api/v1/pulses/subscribed?modified_since&limit&page with X-OTX-API-KEY;
 * pages link with an absolute `next` URL; pulses older than modified_since are left out.
 */
export async function startOtxStub(key: string): Promise<StubServer> {
  const { pages } = JSON.parse(readFileSync(join(here, 'pulses.json'), 'utf8')) as { pages: Array<{ results: Array<{ modified?: string }> } & Record<string, unknown>> };
  const stub = await startStub((req, res) => {
    if (req.headers['x-otx-api-key'] !== key) return sendJson(res, 403, { detail: 'Authentication credentials were not provided.' });
    if (req.path !== '/api/v1/pulses/subscribed') return sendJson(res, 404, { detail: 'Not found.' });
    const page = Number(req.query.get('page') ?? 1);
    const since = req.query.get('modified_since') ?? '';
    const p = pages[page - 1];
    if (!p) return sendJson(res, 404, { detail: 'Invalid page.' });
    const results = p.results.filter((r) => !r.modified || r.modified >= since.replace(/Z$/, '').replace(/\+00:00$/, ''));
    const next = page < pages.length ? `${stub.url}/api/v1/pulses/subscribed?modified_since=${encodeURIComponent(since)}&limit=${req.query.get('limit') ?? 50}&page=${page + 1}` : null;
    return sendJson(res, 200, { ...p, results, next });
  });
  return stub;
}
