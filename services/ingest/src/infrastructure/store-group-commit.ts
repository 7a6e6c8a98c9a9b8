import { StoreUnavailableError, type BatcherOptions } from '@notify/store';
import type { IngestMetrics } from '../metrics/ingest-metrics';

/**
 * How ingest batches its writes to PostgreSQL. Two transactions in flight keep one committing (WAL
 * flush) while the next is being built; 500 rows keep a batch's statements and its lock set small.
 * Every write's size goes to `notify_ingest_store_batch_items{kind}`.
 */
export function storeGroupCommit(metrics: IngestMetrics, kind: 'notification' | 'channel'): BatcherOptions {
  return {
    maxItems: 500,
    maxInFlight: 2,
    isTransient: (err) => err instanceof StoreUnavailableError,
    onWrite: (n) => metrics.storeBatchItems.observe({ kind }, n),
  };
}
