import { NyxError } from '../../errors.ts';

/**
 * A rule that cannot be loaded or compiled. Carries where (file, line) and why, so
 * `nyx rules import|validate` can print one line per bad rule and keep the others.
 */
export class SigmaRuleError extends NyxError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${reason}`);
    this.name = 'SigmaRuleError';
  }
}
