/**
 * Critical accounts as the response guardrails read them. An alert's user field is text an attacker may have
 * chosen, so an account is compared in one normal form: NFKC (fullwidth ＡＤＭＩＮ, ligatures), format and
 * zero-width characters removed, Latin lookalikes from Cyrillic/Greek folded, case folded, surrounding space
 * and quotes trimmed, and the domain part of `DOMAIN\user`, `DOMAIN/user` and `user@domain` set aside.
 * Windows SIDs are compared by their well-known parts (S-1-5-18, …-500, …-512, …-519).
 */

export interface AccountName {
  /** The bare account name in normal form ("administrator"), or the SID in upper case ("S-1-5-18"). */
  key: string;
  kind: 'name' | 'sid';
}

/** Cyrillic and Greek letters NFKC leaves alone but that render like Latin ones (a small confusables table). */
const LOOKALIKES: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', і: 'i', ј: 'j', ѕ: 's', ԁ: 'd', ԛ: 'q', ԝ: 'w', ү: 'y', һ: 'h', ӏ: 'l',
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', μ: 'u', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ϲ: 'c', ϳ: 'j',
};

const SID = /^S-1-\d{1,12}(?:-\d{1,10}){0,15}$/;
/** A Linux uid spelled as a target: `0`, `uid=0`, `uid:0`, `#0`. */
const UID = /^(?:uid[=: ]?|#)?(\d{1,10})$/;
const MAX_ACCOUNT_LENGTH = 512;

/** The normal form of an account target, or undefined when nothing is left of it. */
export function accountName(input: string): AccountName | undefined {
  let text = input.slice(0, MAX_ACCOUNT_LENGTH).normalize('NFKC').replace(/[\p{Cf}\p{Cc}]/gu, '');
  text = text.toLowerCase();
  text = [...text].map((c) => LOOKALIKES[c] ?? c).join('');
  text = text.normalize('NFKC').trim().replace(/^["'`]+|["'`]+$/g, '').trim();
  if (SID.test(text.toUpperCase())) return { key: text.toUpperCase(), kind: 'sid' };
  const backslash = text.lastIndexOf('\\');
  const slash = text.lastIndexOf('/');
  const cut = Math.max(backslash, slash);
  if (cut >= 0) text = text.slice(cut + 1);
  const at = text.indexOf('@');
  if (at > 0) text = text.slice(0, at);
  text = text.trim();
  const uid = UID.exec(text);
  if (uid?.[1] !== undefined && Number(uid[1]) === 0) text = 'root';
  return text ? { key: text, kind: 'name' } : undefined;
}

/** Accounts never disabled whatever the configuration says. */
export const BUILTIN_CRITICAL_NAMES: Readonly<Record<string, string>> = {
  root: 'root (uid 0)',
  administrator: 'the built-in Administrator',
  system: 'NT AUTHORITY\\SYSTEM',
};

/** Well-known SIDs of accounts and groups a playbook must never disable. */
const WELL_KNOWN_SIDS: Readonly<Record<string, string>> = {
  'S-1-5-18': 'SYSTEM (S-1-5-18)',
  'S-1-5-19': 'LOCAL SERVICE (S-1-5-19)',
  'S-1-5-20': 'NETWORK SERVICE (S-1-5-20)',
  'S-1-5-32-544': 'BUILTIN\\Administrators (S-1-5-32-544)',
};

/** Relative ids under a domain or machine SID (S-1-5-21-a-b-c-RID). */
const CRITICAL_RIDS: Readonly<Record<string, string>> = {
  '500': 'the built-in Administrator (RID 500)',
  '502': 'krbtgt (RID 502)',
  '512': 'Domain Admins (RID 512)',
  '516': 'Domain Controllers (RID 516)',
  '518': 'Schema Admins (RID 518)',
  '519': 'Enterprise Admins (RID 519)',
};

/** Why the built-in rules protect this account, or undefined. */
export function builtinCriticalReason(account: AccountName): string | undefined {
  if (account.kind === 'name') return BUILTIN_CRITICAL_NAMES[account.key];
  const known = WELL_KNOWN_SIDS[account.key];
  if (known) return known;
  const domain = /^S-1-5-21-\d+-\d+-\d+-(\d+)$/.exec(account.key);
  return domain?.[1] ? CRITICAL_RIDS[domain[1]] : undefined;
}
