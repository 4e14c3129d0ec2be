/** Risk scoring: Σ(signal_weight × confidence × context_multiplier) − trust_offsets, clamped 0–100, as data (rules/scoring.yml). */
export { loadScoringModel, parseScoringModel, scoringModelSchema, fieldConditionSchema, type ScoringModel, type FieldCondition, type RuleLevel } from './model.ts';
export { scoreRisk, ruleSignal, severityOf, riskBand, conditionHolds, type RiskBreakdown, type ScoredSignal, type InputSignal } from './score.ts';
