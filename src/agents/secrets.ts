import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer secrets (enrollment tokens, agent keys) look like `<kind>.<id>.<secret>`: the id finds the stored
 * record with one GET, the 256-bit secret proves possession. Only sha-256(secret) is stored; a fast hash is
 * enough because the secret is random, not a password.
 */
export type SecretKind = 'nyxet' | 'nyxak';

export interface IssuedSecret {
  id: string;
  /** What the holder presents; shown once. */
  secret: string;
  hash: string;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * 16 base64url characters. Operators type ids as command arguments (`nyx agents token revoke <id>`), and an id
 * starting with "-" would be read as an option (one in 64 did, and the command failed): the first character
 * is never "-" (an "A" in its place costs a fraction of one of the 96 random bits).
 */
export function newId(): string {
  return randomBytes(12).toString('base64url').replace(/^-/, 'A');
}

export function issueSecret(kind: SecretKind, id: string = newId()): IssuedSecret {
  const secret = randomBytes(32).toString('base64url');
  return { id, secret: `${kind}.${id}.${secret}`, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Splits a presented secret; undefined when it is not of the expected kind and shape. */
export function parseSecret(kind: SecretKind, presented: string): { id: string; secret: string } | undefined {
  const parts = presented.trim().split('.');
  if (parts.length !== 3 || parts[0] !== kind) return undefined;
  const [, id, secret] = parts as [string, string, string];
  if (!ID_PATTERN.test(id) || !/^[A-Za-z0-9_-]{20,128}$/.test(secret)) return undefined;
  return { id, secret };
}

/** Constant-time comparison of a presented secret against a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
