/**
 * The one error type the CLI prints as a single readable line (no stack trace).
 * `hint` is an optional next step for the user.
 */
export class NyxError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'NyxError';
  }
}

export function describeError(err: unknown): string {
  if (err instanceof NyxError) return err.hint ? `${err.message} (${err.hint})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
