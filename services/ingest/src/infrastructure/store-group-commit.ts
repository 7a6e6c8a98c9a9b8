import { asStoreError, StoreUnavailableError, type BatcherOptions } from '@notify/store';

/**
 * How ingest batches its writes to PostgreSQL. Two transactions in flight keep one committing (WAL
 * flush) while the next is being built; 500 rows keep a batch's statements and its lock set small.
 * `onWrite` is told every write's size (for `notify_ingest_store_batch_items{kind}`).
 */
export function storeGroupCommit(onWrite: (items: number) => void): BatcherOptions {
  return {
    maxItems: 500,
    maxInFlight: 2,
    isTransient: (err) => asStoreError(err) instanceof StoreUnavailableError,
    onWrite,
  };
}
