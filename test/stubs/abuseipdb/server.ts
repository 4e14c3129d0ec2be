import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendJson, startStub, type StubServer } from '../../intel/support/stub-http.ts';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * AbuseIPDB APIv2 GET /api/v2/blacklist (Key header, confidenceMinimum, limit) with its error shape
 * {errors:[{detail,status}]}; 429 carries Retry-After and X-RateLimit-* like the real service.
 */
export async function startAbuseipdbStub(key: string): Promise<StubServer> {
  const body = JSON.parse(readFileSync(join(here, 'blacklist.json'), 'utf8')) as { meta: unknown; data: Array<{ abuseConfidenceScore: unknown }> };
  return startStub(
    (req, res) => {
      if (req.headers.key !== key) return sendJson(res, 401, { errors: [{ detail: 'Authentication failed. Your API key is either missing, incorrect, or revoked.', status: 401 }] });
      if (req.path !== '/api/v2/blacklist') return sendJson(res, 404, { errors: [{ detail: 'Not found', status: 404 }] });
      const min = Number(req.query.get('confidenceMinimum') ?? 100);
      const limit = Number(req.query.get('limit') ?? 10000);
      const data = body.data.filter((d) => typeof d.abuseConfidenceScore !== 'number' || d.abuseConfidenceScore >= min).slice(0, limit);
      return sendJson(res, 200, { meta: body.meta, data }, { 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '4' });
    },
    {
      authError: (res, code) =>
        code === 402
          ? sendJson(res, 402, { errors: [{ detail: 'Payment required: daily limit for your plan exceeded.', status: 402 }] })
          : sendJson(res, code, { errors: [{ detail: 'Authentication failed.', status: code }] }),
    },
  );
}
