/**
 * Response levels, least to most intrusive: Audit (alert + evidence only), Constrain (block network, suspend),
 * Contain (isolate host, disable account), Recover (restore, release).
 */
export const RESPONSE_LEVELS = ['audit', 'constrain', 'contain', 'recover'] as const;
export type ResponseLevel = (typeof RESPONSE_LEVELS)[number];

export function levelRank(level: ResponseLevel): number {
  return RESPONSE_LEVELS.indexOf(level);
}

export function higherLevel(a: ResponseLevel, b: ResponseLevel): ResponseLevel {
  return levelRank(a) >= levelRank(b) ? a : b;
}

/**
 * The least level an action type runs at, whatever a playbook says: a playbook may not label a block as "audit"
 * to slip past approvals. Types not listed run at their step's (or playbook's) level. Config can raise these.
 */
export const DEFAULT_LEVEL_FLOORS: Record<string, ResponseLevel> = {
  thehive_alert: 'audit',
  cortex_analyze: 'audit',
  webhook: 'audit',
  sighting: 'audit',
  block_ip: 'constrain',
  disable_account: 'contain',
  isolate_endpoint: 'contain',
};
