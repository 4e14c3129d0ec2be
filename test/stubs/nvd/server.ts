import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendJson, startStub, type StubServer } from '../../intel/support/stub-http.ts';
import { nvdItem } from './generate.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface NvdStub extends StubServer {
  /** The CVE items the API serves (lastModified decides which window returns them). */
  items: Array<Record<string, unknown>>;
}

const MAX_WINDOW_MS = 120 * 86_400_000;

/**
 * NVD CVE API 2.0 GET /rest/json/cves/2.0 (lastModStartDate/lastModEndDate ≤120 days, both or neither,
 * resultsPerPage ≤2000, startIndex, optional apiKey header); invalid parameters answer 404 with a
 * `message` header as NVD does. Also serves the CISA KEV JSON and RSS/Atom advisories.
 */
export async function startNvdStub(options: { apiKey?: string; items?: Array<Record<string, unknown>> } = {}): Promise<NvdStub> {
  const items = options.items ?? Array.from({ length: 25 }, (_, i) => nvdItem(i + 1, 2024, `2024-0${1 + (i % 5)}-15T08:00:00.000`));
  const stub = await startStub((req, res) => {
    if (req.path === '/kev.json') return sendJson(res, 200, JSON.parse(readFileSync(join(here, 'known_exploited_vulnerabilities.json'), 'utf8')));
    if (req.path === '/advisories.rss' || req.path === '/advisories.atom') {
      res.writeHead(200, { 'Content-Type': req.path.endsWith('rss') ? 'application/rss+xml' : 'application/atom+xml' });
      return res.end(readFileSync(join(here, req.path.slice(1))));
    }
    if (req.path !== '/rest/json/cves/2.0') return sendJson(res, 404, {});
    if (options.apiKey && req.headers.apikey !== undefined && req.headers.apikey !== options.apiKey) {
      res.writeHead(404, { message: 'Invalid apiKey' });
      return res.end();
    }
    const q = req.query;
    const start = q.get('lastModStartDate');
    const end = q.get('lastModEndDate');
    const perPage = Number(q.get('resultsPerPage') ?? 2000);
    const startIndex = Number(q.get('startIndex') ?? 0);
    if (!!start !== !!end || perPage > 2000 || perPage < 1) {
      res.writeHead(404, { message: 'Invalid parameters' });
      return res.end();
    }
    let rows = items;
    if (start && end) {
      const s = Date.parse(start);
      const e = Date.parse(end);
      if (Number.isNaN(s) || Number.isNaN(e) || e - s > MAX_WINDOW_MS || !/[+-]\d\d:\d\d$|Z$/.test(start)) {
        res.writeHead(404, { message: 'The lastModified date range must not exceed 120 days' });
        return res.end();
      }
      rows = items.filter((it) => {
        const lm = Date.parse(`${(it.cve as { lastModified: string }).lastModified}Z`);
        return lm >= s && lm <= e;
      });
    }
    const page = rows.slice(startIndex, startIndex + perPage);
    return sendJson(res, 200, { resultsPerPage: page.length, startIndex, totalResults: rows.length, format: 'NVD_CVE', version: '2.0', timestamp: new Date().toISOString().slice(0, 23), vulnerabilities: page });
  });
  return Object.assign(stub, { items });
}
