import type { SigmaString, SigmaStringPart } from './types.ts';

/**
 * Sigma plain values: `*` and `?` are wildcards, `\` escapes `*`, `?` and itself; a `\`
 * before anything else is a literal backslash (so `C:\Windows` and `C:\\Windows` agree).
 * With `expand`, `%name%` is a placeholder and `\%` a literal percent sign.
 */
export function parseSigmaString(raw: string, withPlaceholders = false): SigmaString {
  const parts: SigmaStringPart[] = [];
  let text = '';
  const flush = (): void => {
    if (text) parts.push({ kind: 'text', text });
    text = '';
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\\') {
      const next = raw[i + 1];
      if (next === '*' || next === '?' || next === '\\' || (withPlaceholders && next === '%')) {
        text += next;
        i++;
      } else {
        text += '\\';
      }
    } else if (ch === '*') {
      flush();
      parts.push({ kind: 'anyChars' });
    } else if (ch === '?') {
      flush();
      parts.push({ kind: 'oneChar' });
    } else if (withPlaceholders && ch === '%') {
      const end = raw.indexOf('%', i + 1);
      const name = end > i ? raw.slice(i + 1, end) : '';
      if (/^[A-Za-z0-9_.-]+$/.test(name)) {
        flush();
        parts.push({ kind: 'placeholder', name });
        i = end;
      } else {
        text += ch;
      }
    } else {
      text += ch;
    }
  }
  flush();
  return { parts: mergeParts(parts) };
}

/** A string taken literally (numbers, booleans, encoded output): no wildcard meaning. */
export function literalSigmaString(text: string): SigmaString {
  return { parts: text ? [{ kind: 'text', text }] : [] };
}

/** Adjacent text parts joined, repeated `*` collapsed: keeps both backends' patterns minimal. */
export function mergeParts(parts: SigmaStringPart[]): SigmaStringPart[] {
  const out: SigmaStringPart[] = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (part.kind === 'text' && last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + part.text };
    else if (part.kind === 'anyChars' && last?.kind === 'anyChars') continue;
    else if (part.kind === 'text' && !part.text) continue;
    else out.push(part);
  }
  return out;
}

export function hasWildcards(value: SigmaString): boolean {
  return value.parts.some((p) => p.kind === 'anyChars' || p.kind === 'oneChar');
}

export function hasPlaceholders(value: SigmaString): boolean {
  return value.parts.some((p) => p.kind === 'placeholder');
}

/** The literal text of a wildcard-free string, or undefined if it has wildcards/placeholders. */
export function plainText(value: SigmaString): string | undefined {
  let text = '';
  for (const p of value.parts) {
    if (p.kind !== 'text') return undefined;
    text += p.text;
  }
  return text;
}

export function addWildcards(value: SigmaString, start: boolean, end: boolean): SigmaString {
  const parts = [...value.parts];
  if (start && parts[0]?.kind !== 'anyChars') parts.unshift({ kind: 'anyChars' });
  if (end && parts[parts.length - 1]?.kind !== 'anyChars') parts.push({ kind: 'anyChars' });
  return { parts: mergeParts(parts) };
}

/** Dash-like characters Windows command lines accept for flags (the `windash` modifier). */
const WINDASH_VARIANTS = ['-', '/', '\u2013', '\u2014', '\u2015'];
const WINDASH_CHARS = new Set(WINDASH_VARIANTS);
const WORD_CHAR = /[A-Za-z0-9_]/;
/** Above this many permutations a value is rejected rather than silently blowing up queries. */
export const WINDASH_MAX_VARIANTS = 3125;

/**
 * Every permutation of flag dashes. Only a dash that starts a flag (not preceded by a word
 * character, followed by one) is varied, so paths and dates inside the value stay intact.
 */
export function expandWindash(value: SigmaString): SigmaString[] {
  // Flatten to a sequence of characters/wildcards so neighbours across parts are visible.
  type Cell = { ch: string } | { part: SigmaStringPart };
  const cells: Cell[] = [];
  for (const p of value.parts) {
    if (p.kind === 'text') for (const ch of p.text) cells.push({ ch });
    else cells.push({ part: p });
  }
  const slots: number[] = [];
  cells.forEach((cell, i) => {
    if (!('ch' in cell) || !WINDASH_CHARS.has(cell.ch)) return;
    const prev = cells[i - 1];
    const next = cells[i + 1];
    const prevIsWord = prev !== undefined && 'ch' in prev && WORD_CHAR.test(prev.ch);
    const nextIsWord = next !== undefined && 'ch' in next && WORD_CHAR.test(next.ch);
    if (!prevIsWord && nextIsWord) slots.push(i);
  });
  if (slots.length === 0) return [value];
  const total = WINDASH_VARIANTS.length ** slots.length;
  if (total > WINDASH_MAX_VARIANTS) throw new Error(`windash would create ${total} variants (limit ${WINDASH_MAX_VARIANTS}); split the value`);
  const out: SigmaString[] = [];
  for (let n = 0; n < total; n++) {
    let k = n;
    const replaced = new Map<number, string>();
    for (const slot of slots) {
      replaced.set(slot, WINDASH_VARIANTS[k % WINDASH_VARIANTS.length]!);
      k = Math.floor(k / WINDASH_VARIANTS.length);
    }
    const parts: SigmaStringPart[] = cells.map((cell, i) => ('ch' in cell ? { kind: 'text', text: replaced.get(i) ?? cell.ch } : cell.part));
    out.push({ parts: mergeParts(parts) });
  }
  return out;
}

/**
 * The three fragments a value takes inside a larger base64 text, one per byte offset mod 3.
 * Characters that depend on the unknown neighbouring bytes are cut off both ends.
 */
export function base64OffsetVariants(bytes: Uint8Array): string[] {
  const leadingCut = [0, 2, 3];
  const trailingCut = [0, 3, 2]; // indexed by (offset + length) % 3
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset, 0x20), Buffer.from(bytes)]);
    const encoded = padded.toString('base64');
    const cut = trailingCut[(bytes.length + offset) % 3]!;
    out.push(encoded.slice(leadingCut[offset]!, cut ? encoded.length - cut : encoded.length));
  }
  return out;
}

export function encodeUtf16(text: string, variant: 'le' | 'be' | 'bom'): Uint8Array {
  const le = Buffer.from(text, 'utf16le');
  if (variant === 'le') return le;
  if (variant === 'bom') return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
  const be = Buffer.from(le);
  be.swap16();
  return be;
}
