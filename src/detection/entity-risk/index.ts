/** Entity risk (`nyx risk`): per host and per user, decayed alert risk raised by multi-domain bursts. */
export { entityRisk, scoreEntities, alertDomains, type EntityRisk, type EntityRiskQuery, type EntityRiskReport, type RiskContribution, type RiskEntityType } from './risk.ts';
export { riskConfigSchema, type RiskConfig } from './config.ts';
