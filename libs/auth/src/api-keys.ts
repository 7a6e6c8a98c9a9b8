import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Producer API keys compared in constant time. Keys are hashed first so that the comparison has a
 * fixed length and neither a key's length nor its prefix leaks through timing.
 */
export class ApiKeySet {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  /** Accepts `Bearer <key>` (the contract) and returns whether the key is one of ours. */
  matchesAuthorizationHeader(header: string | undefined): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return match ? this.matches(match[1]) : false;
  }

  matches(candidate: string): boolean {
    const d = digest(candidate);
    let ok = false;
    // No early exit: every key is compared whatever the outcome.
    for (const known of this.digests) ok = timingSafeEqual(known, d) || ok;
    return ok;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
