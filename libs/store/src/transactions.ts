import type { Kysely, Transaction } from 'kysely';
import { asStoreError } from './store-unavailable';

/** SQLSTATEs after which running the same transaction again is correct and likely to succeed. */
const RETRYABLE = new Set([
  '23505', // unique_violation: a concurrent writer committed the same idempotency key first
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);
const MAX_ATTEMPTS = 5;

export function isRetryableSqlError(err: unknown): boolean {
  return RETRYABLE.has((err as { code?: string } | null)?.code ?? '');
}

/**
 * Runs `work` in a transaction, again when PostgreSQL says a rerun may succeed (up to 5 attempts).
 * Throws a StoreUnavailableError when the store cannot be reached.
 */
export async function withRetryableTransaction<DB, T>(
  db: Kysely<DB>,
  work: (trx: Transaction<DB>) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !isRetryableSqlError(err)) throw asStoreError(err);
    }
  }
}
