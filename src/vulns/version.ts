/**
 * Version ordering for matching installed packages against NVD's CPE version ranges.
 * Debian (dpkg) and RPM (rpmvercmp) each have their own rules; NVD bounds are upstream versions, so
 * an installed package's epoch and Debian revision are set aside when it is compared with one (they only
 * order a distribution's own releases; rpm ignores a release the bound lacks by itself). Distribution back-ports (a fix in 2.4.52-1ubuntu4.6) are not known here.
 */
export type VersionScheme = 'deb' | 'rpm' | 'generic';

/** dpkg's character order: '~' sorts before everything (even the end), letters before non-letters. */
function dpkgOrder(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[0-9]/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp for one part (upstream or revision). */
function dpkgPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let first = 0;
    while ((i < a.length && !/[0-9]/.test(a[i]!)) || (j < b.length && !/[0-9]/.test(b[j]!))) {
      const ac = dpkgOrder(i < a.length && !/[0-9]/.test(a[i]!) ? a[i] : undefined);
      const bc = dpkgOrder(j < b.length && !/[0-9]/.test(b[j]!) ? b[j] : undefined);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /[0-9]/.test(a[i]!) && j < b.length && /[0-9]/.test(b[j]!)) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i]!)) return 1;
    if (j < b.length && /[0-9]/.test(b[j]!)) return -1;
    if (first) return first;
  }
  return 0;
}

function splitDeb(v: string): { epoch: number; upstream: string; revision: string } {
  const colon = v.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(v.slice(0, colon)) ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return { epoch, upstream: dash > 0 ? rest.slice(0, dash) : rest, revision: dash > 0 ? rest.slice(dash + 1) : '' };
}

/** dpkg --compare-versions: negative, zero or positive. */
export function compareDebian(a: string, b: string): number {
  const x = splitDeb(a);
  const y = splitDeb(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return Math.sign(dpkgPart(x.upstream, y.upstream)) || Math.sign(dpkgPart(x.revision, y.revision));
}

/** rpmvercmp over one version or release string. */
function rpmPart(a: string, b: string): number {
  if (a === b) return 0;
  const seg = /~|\^|[0-9]+|[A-Za-z]+/g;
  const tokens = (s: string): string[] => s.match(seg) ?? [];
  const x = tokens(a);
  const y = tokens(b);
  for (let k = 0; ; k++) {
    const p = x[k];
    const q = y[k];
    if (p === '~' || q === '~') {
      if (p !== q) return p === '~' ? -1 : 1;
      continue;
    }
    if (p === '^' || q === '^') {
      if (p === undefined) return -1;
      if (q === undefined) return 1;
      if (p !== q) return p === '^' ? -1 : 1;
      continue;
    }
    if (p === undefined || q === undefined) return p === undefined && q === undefined ? 0 : p === undefined ? -1 : 1;
    const pNum = /^\d/.test(p);
    const qNum = /^\d/.test(q);
    if (pNum !== qNum) return pNum ? 1 : -1;
    if (pNum) {
      const pn = p.replace(/^0+/, '');
      const qn = q.replace(/^0+/, '');
      if (pn.length !== qn.length) return pn.length > qn.length ? 1 : -1;
      if (pn !== qn) return pn > qn ? 1 : -1;
    } else if (p !== q) return p > q ? 1 : -1;
  }
}

function splitRpm(v: string): { epoch: number; version: string; release: string | undefined } {
  const colon = v.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(v.slice(0, colon)) ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return { epoch, version: dash > 0 ? rest.slice(0, dash) : rest, release: dash > 0 ? rest.slice(dash + 1) : undefined };
}

/** rpm's EVR comparison; a side without a release compares versions only (as rpm does). */
export function compareRpm(a: string, b: string): number {
  const x = splitRpm(a);
  const y = splitRpm(b);
  if (x.epoch !== y.epoch) return x.epoch > y.epoch ? 1 : -1;
  const v = rpmPart(x.version, y.version);
  if (v !== 0 || x.release === undefined || y.release === undefined) return v;
  return rpmPart(x.release, y.release);
}

/** Dotted upstream versions (1.10 > 1.9; a suffix such as 1.2rc1 sorts before 1.2 the way dpkg's ~ does not, so rpm rules apply). */
export function compareGeneric(a: string, b: string): number {
  return rpmPart(a, b);
}

/** Compares an installed version with an NVD (upstream) bound, in the package's scheme, epoch set aside. */
export function compareToUpstream(installed: string, bound: string, scheme: VersionScheme): number {
  const colon = installed.indexOf(':');
  const noEpoch = colon > 0 && /^\d+$/.test(installed.slice(0, colon)) ? installed.slice(colon + 1) : installed;
  // The Debian revision (-1ubuntu4.6) is packaging, not upstream: compared only when the bound has one.
  if (scheme === 'deb') return compareDebian(bound.includes('-') ? noEpoch : noEpoch.replace(/-[^-]*$/, ''), bound);
  if (scheme === 'rpm') return compareRpm(noEpoch, bound);
  // Generic: a packaging release suffix (-1, -3.el9) is not part of the upstream version the bound names.
  return compareGeneric(bound.includes('-') ? noEpoch : noEpoch.replace(/-[0-9][^-]*$/, ''), bound);
}

export interface VersionRange {
  /** The exact version in the CPE criteria (`*` or `-` or absent: any, ranges decide). */
  version?: string;
  versionStartIncluding?: string;
  versionStartExcluding?: string;
  versionEndIncluding?: string;
  versionEndExcluding?: string;
}

/** True when the installed version falls in the CPE match's range (or equals its exact version). */
export function versionInRange(installed: string, range: VersionRange, scheme: VersionScheme): boolean {
  const { versionStartIncluding: si, versionStartExcluding: se, versionEndIncluding: ei, versionEndExcluding: ee } = range;
  const hasRange = si !== undefined || se !== undefined || ei !== undefined || ee !== undefined;
  if (!hasRange) {
    const exact = range.version;
    if (exact === undefined || exact === '*' || exact === '') return true;
    if (exact === '-') return false;
    return compareToUpstream(installed, exact.replace(/\\/g, ''), scheme) === 0;
  }
  if (si !== undefined && compareToUpstream(installed, si, scheme) < 0) return false;
  if (se !== undefined && compareToUpstream(installed, se, scheme) <= 0) return false;
  if (ei !== undefined && compareToUpstream(installed, ei, scheme) > 0) return false;
  if (ee !== undefined && compareToUpstream(installed, ee, scheme) >= 0) return false;
  return true;
}
