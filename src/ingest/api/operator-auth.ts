import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The operator credential (env NYX_OPERATOR_TOKEN) as the ingest API checks it: `Authorization: Bearer <token>`,
 * compared in constant time (both sides hashed to one length first, so neither content nor length leaks).
 */
export class OperatorCredential {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  /** Names the credential in an audit trail without revealing it: a short fingerprint of its hash. */
  get fingerprint(): string {
    return `sha256:${createHash('sha256').update(this.expected).digest('hex').slice(0, 16)}`;
  }

  /** Whether an Authorization header carries the operator token. */
  accepts(authorization: string | undefined): boolean {
    const presented = /^Bearer\s+(\S{1,1024})$/i.exec(authorization ?? '')?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), this.expected);
  }
}
