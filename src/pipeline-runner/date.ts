/**
 * Date parsing and formatting for the `date` processor: ES's named formats (ISO8601, UNIX,
 * UNIX_MS, TAI64N) and Java-time patterns (`MMM d HH:mm:ss`, `dd/MMM/yyyy:HH:mm:ss Z`, ...),
 * English month/day names, timezones as IANA ids or fixed offsets, using only Intl (no tz data
 * of our own).
 */
import { DefinitionError } from './processor.ts';

/** A timezone: a fixed offset in minutes, or an IANA id resolved through Intl. */
export type Zone = { kind: 'fixed'; minutes: number; id: string } | { kind: 'iana'; id: string };

export const UTC: Zone = { kind: 'fixed', minutes: 0, id: 'UTC' };

const zoneCache = new Map<string, Zone | null>();

/** Resolves `UTC`, `Z`, `+02:00`, `-0500`, `Europe/Berlin`, ...; undefined when unknown. */
export function resolveZone(id: string): Zone | undefined {
  let zone = zoneCache.get(id);
  if (zone === undefined) {
    zone = parseZone(id) ?? null;
    if (zoneCache.size > 1000) zoneCache.clear();
    zoneCache.set(id, zone);
  }
  return zone ?? undefined;
}

function parseZone(id: string): Zone | undefined {
  const upper = id.toUpperCase();
  if (upper === 'UTC' || upper === 'Z' || upper === 'GMT' || upper === 'UT' || upper === 'ETC/UTC') return UTC;
  const offset = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(id);
  if (offset) {
    const minutes = (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3] ?? 0));
    return minutes === 0 ? UTC : { kind: 'fixed', minutes, id };
  }
  const abbreviation = ZONE_ABBREVIATIONS[upper];
  if (abbreviation !== undefined) return { kind: 'fixed', minutes: abbreviation, id };
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: id });
    return { kind: 'iana', id };
  } catch {
    return undefined;
  }
}

/** Common abbreviations Java's `z` parses; anything else must be an IANA id. */
const ZONE_ABBREVIATIONS: Record<string, number> = {
  EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420,
  CET: 60, CEST: 120, EET: 120, EEST: 180, WET: 0, WEST: 60, BST: 60, IST: 330, JST: 540,
};

const intlCache = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();
const OFFSET_BUCKET_MS = 15 * 60 * 1000;

/** Offset of `zone` from UTC in minutes at the instant `epochMs`. */
export function offsetMinutes(zone: Zone, epochMs: number): number {
  if (zone.kind === 'fixed') return zone.minutes;
  // Offsets only change on quarter-hour boundaries, so cache per zone and 15-minute bucket.
  const key = `${zone.id}|${Math.floor(epochMs / OFFSET_BUCKET_MS)}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  let format = intlCache.get(zone.id);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone.id,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    intlCache.set(zone.id, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(new Date(epochMs))) parts[part.type] = part.value;
  let year = Number(parts.year);
  if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
  const wall = utcWallClock(year, Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const minutes = Math.round((wall - (epochMs - (((epochMs % 1000) + 1000) % 1000))) / 60000);
  if (offsetCache.size > 20000) offsetCache.clear();
  offsetCache.set(key, minutes);
  return minutes;
}

/**
 * Date.UTC with the year taken literally: Date.UTC maps years 0-99 to 1900-1999, so year 0001 would
 * become 1901. Java's time API (and so Elasticsearch) reads every year as written.
 */
function utcWallClock(year: number, monthIndex: number, day: number, hour = 0, minute = 0, second = 0, millis = 0): number {
  if (year < 0 || year > 99) return Date.UTC(year, monthIndex, day, hour, minute, second, millis);
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  return date.setUTCHours(hour, minute, second, millis);
}

/** Epoch millis of a wall-clock time (expressed as if it were UTC) in `zone`. */
export function wallToEpoch(wallMs: number, zone: Zone): number {
  const first = offsetMinutes(zone, wallMs);
  const guess = wallMs - first * 60000;
  const second = offsetMinutes(zone, guess);
  return second === first ? guess : wallMs - second * 60000;
}

export interface ParsedDate {
  epochMs: number;
}

/** `now` is only called by formats without a year (it allocates a Date, and most formats never need it). */
export type DateParser = (text: string, zone: Zone, now: () => Date) => ParsedDate | undefined;

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const SHORT_MONTH = MONTHS.map((m) => m.slice(0, 3));

type FieldName = 'year' | 'year2' | 'month' | 'monthName' | 'day' | 'hour' | 'hour12' | 'minute' | 'second' | 'fraction' | 'ampm' | 'offset' | 'zoneName' | 'ignore';

interface PatternToken {
  regex: string;
  field: FieldName;
}

/** Splits a Java DateTimeFormatter pattern into letter runs, quoted literals and optional sections. */
function tokenizeJavaPattern(pattern: string): Array<{ letters: string } | { literal: string } | { optional: '[' | ']' }> {
  const out: Array<{ letters: string } | { literal: string } | { optional: '[' | ']' }> = [];
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      out.push({ letters: pattern.slice(i, j) });
      i = j;
    } else if (c === "'") {
      if (pattern[i + 1] === "'") {
        out.push({ literal: "'" });
        i += 2;
        continue;
      }
      let j = i + 1;
      let text = '';
      while (j < pattern.length) {
        if (pattern[j] === "'" && pattern[j + 1] === "'") {
          text += "'";
          j += 2;
        } else if (pattern[j] === "'") break;
        else text += pattern[j++];
      }
      if (j >= pattern.length) throw new DefinitionError(`unterminated quote in date format [${pattern}]`);
      out.push({ literal: text });
      i = j + 1;
    } else if (c === '[' || c === ']') {
      out.push({ optional: c });
      i++;
    } else {
      out.push({ literal: c });
      i++;
    }
  }
  return out;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function letterToken(letters: string, pattern: string): PatternToken {
  const n = letters.length;
  const digits = (exact: boolean) => (n === 1 ? '\\d{1,2}' : exact ? `\\d{${n}}` : `\\d{${n},}`);
  switch (letters[0]) {
    case 'y':
    case 'u':
      if (n === 2) return { regex: '\\d{2}', field: 'year2' };
      return { regex: n === 4 ? '[+-]?\\d{4}' : '[+-]?\\d{1,9}', field: 'year' };
    case 'M':
    case 'L':
      if (n >= 4) return { regex: '[A-Za-z]+', field: 'monthName' };
      if (n === 3) return { regex: '[A-Za-z]{3,4}', field: 'monthName' };
      return { regex: digits(true), field: 'month' };
    case 'd':
      return { regex: digits(true), field: 'day' };
    case 'H':
    case 'k':
      return { regex: digits(true), field: 'hour' };
    case 'h':
    case 'K':
      return { regex: digits(true), field: 'hour12' };
    case 'm':
      return { regex: digits(true), field: 'minute' };
    case 's':
      return { regex: digits(true), field: 'second' };
    case 'S':
      return { regex: `\\d{${n}}`, field: 'fraction' };
    case 'a':
      return { regex: '[AaPp][Mm]', field: 'ampm' };
    case 'E':
      return { regex: n >= 4 ? '[A-Za-z]+' : '[A-Za-z]{3}', field: 'ignore' };
    case 'Z':
    case 'X':
    case 'x':
      return { regex: 'Z|[+-]\\d{2}(?::?\\d{2})?', field: 'offset' };
    case 'z':
    case 'V':
      return { regex: '[A-Za-z][A-Za-z0-9_/+-]*', field: 'zoneName' };
    default:
      throw new DefinitionError(`unsupported pattern letter [${letters}] in date format [${pattern}]`);
  }
}

function compileJavaPattern(pattern: string): DateParser {
  let source = '^';
  const fields: FieldName[] = [];
  let depth = 0;
  for (const token of tokenizeJavaPattern(pattern)) {
    if ('literal' in token) source += escapeRegex(token.literal);
    else if ('optional' in token) {
      if (token.optional === '[') {
        depth++;
        source += '(?:';
      } else {
        if (depth-- === 0) throw new DefinitionError(`unbalanced ']' in date format [${pattern}]`);
        source += ')?';
      }
    } else {
      const t = letterToken(token.letters, pattern);
      source += `(${t.regex})`;
      fields.push(t.field);
    }
  }
  if (depth !== 0) throw new DefinitionError(`unbalanced '[' in date format [${pattern}]`);
  const regex = new RegExp(source + '$', 'i');
  const hasYear = fields.includes('year') || fields.includes('year2');

  return (text, zone, now) => {
    const match = regex.exec(text);
    if (!match) return undefined;
    let year: number | undefined;
    let month = 1;
    let day = 1;
    let hour = 0;
    let minute = 0;
    let second = 0;
    let millis = 0;
    let pm: boolean | undefined;
    let fixedOffset: number | undefined;
    let parsedZone: Zone | undefined;
    for (let i = 0; i < fields.length; i++) {
      const value = match[i + 1];
      if (value === undefined) continue;
      switch (fields[i]) {
        case 'year':
          year = Number(value);
          break;
        case 'year2':
          year = 2000 + Number(value); // Java's `yy` reads 2000-2099
          break;
        case 'month':
          month = Number(value);
          break;
        case 'monthName': {
          const lower = value.toLowerCase();
          const index = lower.length <= 4 ? SHORT_MONTH.indexOf(lower.slice(0, 3)) : MONTHS.indexOf(lower);
          if (index < 0 || (lower.length === 4 && lower !== 'sept')) return undefined;
          month = index + 1;
          break;
        }
        case 'day':
          day = Number(value);
          break;
        case 'hour':
        case 'hour12':
          hour = Number(value);
          break;
        case 'minute':
          minute = Number(value);
          break;
        case 'second':
          second = Number(value);
          break;
        case 'fraction':
          millis = Math.floor(Number(`0.${value}`) * 1000 + 1e-6);
          break;
        case 'ampm':
          pm = value.toLowerCase() === 'pm';
          break;
        case 'offset':
          fixedOffset = value.toUpperCase() === 'Z' ? 0 : parseOffset(value);
          break;
        case 'zoneName':
          parsedZone = resolveZone(value);
          if (!parsedZone) return undefined;
          break;
      }
    }
    if (pm !== undefined) {
      if (hour < 1 || hour > 12) return undefined;
      hour = (hour % 12) + (pm ? 12 : 0);
    }
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
    const effectiveZone = fixedOffset !== undefined ? ({ kind: 'fixed', minutes: fixedOffset, id: 'offset' } as Zone) : (parsedZone ?? zone);
    const build = (y: number): number | undefined => {
      const wall = utcWallClock(y, month - 1, day, hour, minute, second, millis);
      if (new Date(wall).getUTCDate() !== day) return undefined; // e.g. Feb 30
      return wallToEpoch(wall, effectiveZone);
    };
    if (year === undefined || !hasYear) {
      // Syslog-style timestamps carry no year. ES takes the current year; we also step back one
      // year when that would put the event more than a day in the future (a December event
      // read in early January), as Logstash and Filebeat do.
      const nowMs = now().getTime();
      const currentYear = new Date(nowMs + offsetMinutes(effectiveZone, nowMs) * 60000).getUTCFullYear();
      let epoch = build(currentYear);
      if (epoch !== undefined && epoch > nowMs + 86_400_000) epoch = build(currentYear - 1);
      return epoch === undefined ? undefined : { epochMs: epoch };
    }
    const epoch = build(year);
    return epoch === undefined ? undefined : { epochMs: epoch };
  };
}

function parseOffset(text: string): number {
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(text)!;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

const ISO8601 = /^([+-]?\d{4,9})-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?$/i;

const parseIso8601: DateParser = (text, zone) => {
  const m = ISO8601.exec(text);
  if (!m) return undefined;
  const [, y, mo, d = '1', h = '0', mi = '0', s = '0', fraction, offset] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const millis = fraction ? Math.floor(Number(`0.${fraction}`) * 1000 + 1e-6) : 0;
  const wall = utcWallClock(Number(y), month - 1, day, Number(h), Number(mi), Number(s), millis);
  if (new Date(wall).getUTCDate() !== day) return undefined;
  if (offset !== undefined) return { epochMs: wall - (offset.toUpperCase() === 'Z' ? 0 : parseOffset(offset)) * 60000 };
  return { epochMs: wallToEpoch(wall, zone) };
};

const parseUnix: DateParser = (text) => {
  const trimmed = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return undefined;
  return { epochMs: Math.trunc(Number(trimmed) * 1000) };
};

const parseUnixMs: DateParser = (text) => (/^[+-]?\d+$/.test(text.trim()) ? { epochMs: Number(text.trim()) } : undefined);

const parseTai64n: DateParser = (text) => {
  const hex = text.startsWith('@') ? text.slice(1) : text;
  if (!/^[0-9a-fA-F]{24}$/.test(hex)) return undefined;
  // The label is 2^62 + TAI seconds (first hex digit is the 2^62 bit); TAI runs 10 s ahead here, as in ES.
  const seconds = parseInt(hex.slice(1, 16), 16);
  const nanos = parseInt(hex.slice(16, 24), 16);
  return { epochMs: seconds * 1000 - 10_000 + Math.floor(nanos / 1_000_000) };
};

const NAMED: Record<string, DateParser> = {
  ISO8601: parseIso8601,
  UNIX: parseUnix,
  UNIX_MS: parseUnixMs,
  TAI64N: parseTai64n,
  iso8601: parseIso8601,
  strict_date_optional_time: parseIso8601,
  date_optional_time: parseIso8601,
  epoch_millis: parseUnixMs,
  epoch_second: parseUnix,
};

/** True for the format names that parse as ES's ISO8601 (see NAMED). */
export function isIso8601Format(format: string): boolean {
  return NAMED[format] === parseIso8601;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `text` at `i`, `i+1` as a two-digit number, or -1 when either is not a digit. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * True when `text` is exactly what an ISO8601 date processor writes for it in UTC with the default
 * output format: `yyyy-MM-ddTHH:mm:ss.SSSZ`, a real calendar date, year 1000 to 9999 (parseIso8601 reads
 * it as that instant, and DEFAULT_OUTPUT_FORMAT renders that instant in UTC as the same 24 characters).
 * The date processor then writes the string as it is, skipping the parse and the formatting.
 */
export function isCanonicalUtcIso(text: string): boolean {
  if (text.length !== 24 || text.charCodeAt(23) !== 90 /* Z */) return false;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 /* T */) return false;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46) return false;
  const century = twoDigits(text, 0);
  const yy = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const ms = twoDigits(text, 20);
  const ms3 = text.charCodeAt(22) - 48;
  if (century < 10 || yy < 0 || ms < 0 || ms3 < 0 || ms3 > 9) return false;
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || month < 1 || month > 12 || day < 1) return false;
  const year = century * 100 + yy;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

export function compileDateFormat(format: string): DateParser {
  return NAMED[format] ?? compileJavaPattern(format);
}

const pad = (n: number, width: number) => String(Math.abs(n)).padStart(width, '0');

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** Formats an instant in `zone` with a Java pattern (default: ES's `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`). */
export function compileDateFormatter(pattern: string): (epochMs: number, zone: Zone) => string {
  const general = compileGeneralFormatter(pattern);
  if (pattern !== DEFAULT_OUTPUT_FORMAT) return general;
  // Nearly every date processor writes the default format: build it directly (same output as the
  // general formatter, which remains the path for years outside 0..9999).
  return (epochMs, zone) => {
    const offset = offsetMinutes(zone, epochMs);
    const local = new Date(epochMs + offset * 60000);
    const year = local.getUTCFullYear();
    if (!(year >= 0 && year <= 9999)) return general(epochMs, zone);
    const ms = local.getUTCMilliseconds();
    let out = `${year < 1000 ? String(year).padStart(4, '0') : year}-${TWO_DIGITS[local.getUTCMonth() + 1]}-${TWO_DIGITS[local.getUTCDate()]}T${TWO_DIGITS[local.getUTCHours()]}:${TWO_DIGITS[local.getUTCMinutes()]}:${TWO_DIGITS[local.getUTCSeconds()]}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
    if (offset === 0) return out + 'Z';
    const abs = Math.abs(offset);
    out += `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60), 2)}:${TWO_DIGITS[abs % 60]}`;
    return out;
  };
}

function compileGeneralFormatter(pattern: string): (epochMs: number, zone: Zone) => string {
  const tokens = tokenizeJavaPattern(pattern);
  for (const token of tokens) if ('letters' in token && !/^(y+|u+|M+|d+|H+|h+|m+|s+|S+|a|E+|X+|x+|Z+)$/.test(token.letters)) throw new DefinitionError(`unsupported pattern letter [${token.letters}] in output_format [${pattern}]`);
  return (epochMs, zone) => {
    const offset = offsetMinutes(zone, epochMs);
    const local = new Date(epochMs + offset * 60000);
    let out = '';
    for (const token of tokens) {
      if ('literal' in token) {
        out += token.literal;
        continue;
      }
      if ('optional' in token) continue;
      const { letters } = token;
      const n = letters.length;
      switch (letters[0]) {
        case 'y':
        case 'u':
          out += n === 2 ? pad(local.getUTCFullYear() % 100, 2) : pad(local.getUTCFullYear(), n);
          break;
        case 'M': {
          const month = local.getUTCMonth();
          const name = MONTHS[month]!;
          out += n >= 4 ? name[0]!.toUpperCase() + name.slice(1) : n === 3 ? name[0]!.toUpperCase() + name.slice(1, 3) : pad(month + 1, n);
          break;
        }
        case 'd':
          out += pad(local.getUTCDate(), n);
          break;
        case 'H':
          out += pad(local.getUTCHours(), n);
          break;
        case 'h':
          out += pad(local.getUTCHours() % 12 || 12, n);
          break;
        case 'm':
          out += pad(local.getUTCMinutes(), n);
          break;
        case 's':
          out += pad(local.getUTCSeconds(), n);
          break;
        case 'S':
          out += pad(local.getUTCMilliseconds(), 3).padEnd(n, '0').slice(0, n);
          break;
        case 'a':
          out += local.getUTCHours() < 12 ? 'AM' : 'PM';
          break;
        case 'E': {
          const name = DAYS[(local.getUTCDay() + 6) % 7]!;
          out += n >= 4 ? name[0]!.toUpperCase() + name.slice(1) : name[0]!.toUpperCase() + name.slice(1, 3);
          break;
        }
        default: {
          // X/x/Z offsets: XXX → +01:00 (Z for zero), XX/Z → +0100.
          if (offset === 0 && letters[0] === 'X') {
            out += 'Z';
            break;
          }
          const sign = offset < 0 ? '-' : '+';
          const hh = pad(Math.floor(Math.abs(offset) / 60), 2);
          const mm = pad(Math.abs(offset) % 60, 2);
          out += n === 1 && letters[0] !== 'Z' ? `${sign}${hh}${mm === '00' ? '' : mm}` : n >= 3 && letters[0] !== 'Z' ? `${sign}${hh}:${mm}` : `${sign}${hh}${mm}`;
        }
      }
    }
    return out;
  };
}

export const DEFAULT_OUTPUT_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
