/** Every status a response action can be in (kept apart from the store so the CLI can list them without loading it). */
export const ACTION_STATUSES = [
  'awaiting_approval', // level above unattended: waits for `nyx actions approve`
  'approved', // approved, not yet run
  'applied', // in effect (and released at expires_at when it has a TTL)
  'failed',
  'refused', // a guardrail said no, or the step could not be run (unknown type, no target)
  'rejected', // a person said no
  'expired', // the approval never came
  'released', // TTL ended and the effect was undone
  'undone', // undone by hand
  'skipped', // a previous step failed with on_error: stop
] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];
