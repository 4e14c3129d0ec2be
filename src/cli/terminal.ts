/**
 * What the CLI prints of data it did not write itself (agent hostnames and OS strings, feed names and errors,
 * alert entities, event fields) goes through here: a terminal obeys control characters wherever they come
 * from, so an agent that names itself "\x1b]0;pwned\x07" or "a\nFAKE ROW" must not set the operator's window
 * title, move the cursor, forge a table row or reverse the text that follows.
 */

// C0 controls (tab and newline included: one value, one line), DEL, C1 controls (U+0080-U+009F, among them
// CSI U+009B, which some terminals obey in UTF-8), the line and paragraph separators, and the Unicode bidi
// controls (ALM, LRM, RLM, LRE..RLO, LRI..PDI) that reorder what follows them.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
// What JSON.stringify leaves raw inside strings (it escapes C0 itself; C0 outside strings is its own indentation).
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

function visible(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** The text with every control character shown as an escape (`\x1b`, `\x0a`, `\u{202e}`), so it prints as inert text. */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, visible);
}

/**
 * JSON for stdout: JSON.stringify already escapes C0 controls; this escapes the rest (DEL, C1, bidi) the same
 * way, so `--json` stays valid JSON with the same values and is safe to read in a terminal too.
 */
export function jsonForTerminal(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** Prints one line of text, escaped. */
export function printLine(text: string): void {
  console.log(escapeForTerminal(text));
}

/** Rows as aligned columns (two spaces apart), every cell escaped first so widths are what is shown. */
export function formatTable(rows: ReadonlyArray<ReadonlyArray<string>>, options: { padLastColumn?: boolean } = {}): string {
  const safe = rows.map((r) => r.map(escapeForTerminal));
  const widths = safe[0]?.map((_, i) => Math.max(...safe.map((r) => (r[i] ?? '').length))) ?? [];
  return safe
    .map((r) => r.map((c, i) => (i === r.length - 1 && !options.padLastColumn ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n');
}

/** Prints rows as an aligned table. */
export function printTable(rows: ReadonlyArray<ReadonlyArray<string>>): void {
  console.log(formatTable(rows));
}
