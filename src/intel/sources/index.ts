import type { FeedKind } from '../feeds/definitions.ts';
import { csvSource, jsonSource, plainSource } from './generic.ts';
import { mispFeedSource, mispSource } from './misp.ts';
import { kevSource, nvdApiSource, nvdFilesSource, rssSource } from './nvd.ts';
import { abuseipdbSource, feodoSource, otxSource, threatfoxSource, urlhausSource } from './osint.ts';
import { stixSource } from './stix.ts';
import type { FeedSource } from './types.ts';

export type { FeedSource, SourceBatch, SourceContext, SourceReject } from './types.ts';
export { cveFromNvd } from './nvd.ts';
export { stixPatternValues } from './stix.ts';

export const FEED_SOURCES: Record<FeedKind, FeedSource> = {
  misp: mispSource,
  misp_feed: mispFeedSource,
  nvd: nvdApiSource,
  nvd_files: nvdFilesSource,
  cisa_kev: kevSource,
  rss: rssSource,
  urlhaus: urlhausSource,
  threatfox: threatfoxSource,
  feodo: feodoSource,
  abuseipdb: abuseipdbSource,
  otx: otxSource,
  plain: plainSource,
  csv: csvSource,
  json: jsonSource,
  stix: stixSource,
};

/** The header each kind sends its secret in, unless the feed's auth.header says otherwise. */
export const AUTH_HEADERS: Record<FeedKind, string> = {
  misp: 'Authorization',
  misp_feed: 'Authorization',
  nvd: 'apiKey',
  nvd_files: 'apiKey',
  cisa_kev: 'Authorization',
  rss: 'Authorization',
  urlhaus: 'Auth-Key',
  threatfox: 'Auth-Key',
  feodo: 'Auth-Key',
  abuseipdb: 'Key',
  otx: 'X-OTX-API-KEY',
  plain: 'Authorization',
  csv: 'Authorization',
  json: 'Authorization',
  stix: 'Authorization',
};
