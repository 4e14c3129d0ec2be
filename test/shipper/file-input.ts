import { inputSchema, type FileInputConfig } from '../../src/shipper/config.ts';

export function fileInputFor(paths: string[], format: 'syslog' | 'cowrie', closeInactiveMs: number): FileInputConfig {
  const parsed = inputSchema.parse({ type: 'files', paths, format, poll_ms: 60_000, close_inactive_ms: Math.max(1, closeInactiveMs) });
  if (parsed.type !== 'files') throw new Error('unreachable');
  return parsed;
}
