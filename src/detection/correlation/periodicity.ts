/**
 * Beaconing heuristic (the Nyx `periodic` extension of event_count correlations).
 *
 * Implants poll their C2 on a timer, so the gaps between one source's connections to one
 * destination are nearly equal; people and ordinary software produce irregular gaps. For the
 * window's timestamps we take the intervals between consecutive events and their coefficient of
 * variation, jitter = stddev / mean. A window counts as periodic when jitter ≤ `max_jitter`
 * (0.2 tolerates implants that add ±~30 % uniform jitter on a few samples) and the mean interval is
 * at least `min_interval` (a burst of retries 100 ms apart is regular too, but not a beacon).
 * At least two intervals (three events) are needed to say anything.
 */
export function periodicity(timestamps: number[]): { meanIntervalMs: number; jitter: number } | undefined {
  if (timestamps.length < 3) return undefined;
  const sorted = [...timestamps].sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) gaps.push(sorted[i]! - sorted[i - 1]!);
  const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
  if (mean <= 0) return { meanIntervalMs: 0, jitter: Infinity };
  const variance = gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length;
  return { meanIntervalMs: mean, jitter: Math.sqrt(variance) / mean };
}
