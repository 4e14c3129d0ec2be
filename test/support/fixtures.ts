import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Source } from '../../src/config/index.ts';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export interface Fixture {
  file: string;
  line: number;
  /** What a shipper would send: a log line arrives in `message` (Filebeat convention), a record as itself. */
  doc: Record<string, unknown>;
}

/**
 * Every record in test/fixtures/<source>/: `.log` one line per event, `.ndjson` one JSON record per line
 * (a line that is not a JSON object is sent as a raw `message`, as a shipper would).
 */
export function loadSourceFixtures(source: Source): Fixture[] {
  const dir = join(FIXTURES_DIR, source);
  if (!existsSync(dir)) return [];
  const out: Fixture[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.log') && !file.endsWith('.ndjson')) continue;
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        if (!text.trim()) return;
        let doc: Record<string, unknown> = { message: text };
        if (file.endsWith('.ndjson')) {
          try {
            const v = JSON.parse(text) as unknown;
            if (v && typeof v === 'object' && !Array.isArray(v)) doc = v as Record<string, unknown>;
          } catch {
            // kept as a raw message: malformed records must survive too
          }
        }
        out.push({ file, line: i + 1, doc });
      });
  }
  return out;
}
