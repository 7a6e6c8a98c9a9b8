import type { GroupCommitOptions } from './group-commit';
import { isTransientStoreError } from './transient-errors';

/**
 * How ingest batches its writes to PostgreSQL. Two transactions in flight keep one committing (WAL
 * flush) while the next is being built; 500 rows keep a batch's statements and its lock set small.
 */
export const STORE_GROUP_COMMIT: GroupCommitOptions = {
  maxItems: 500,
  maxInFlight: 2,
  isTransient: isTransientStoreError,
};
