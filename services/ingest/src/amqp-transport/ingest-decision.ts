import { asStoreError, StoreUnavailableError } from '@notify/store';
import type { ParsedIngestMessage } from './ingest-message';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

/** Exponential backoff from 100 ms, capped at 5 s; `attempt` counts from 0. */
export const backoff = (attempt: number): number => Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);

/** How an attempt to store a valid message ended (null: it was not stored, nor tried). */
export type StoreOutcome = { stored: true } | { stored: false; error: unknown } | null;

/** What the consumer does next with a message. */
export type ConsumerStep =
  /** Committed: acknowledge it. */
  | { do: 'ack' }
  /** Refused for good: move it to notify.ingest.invalid with the reason, then acknowledge it. */
  | { do: 'dead-letter'; reason: string; unexpected?: unknown }
  /** The store is unavailable: hold the message, and try to store it again after `afterMs`. */
  | { do: 'retry'; afterMs: number; error: StoreUnavailableError }
  /**
   * Shutting down, or the message's channel closed: leave it unacknowledged; it returns to the queue
   * when the channel closes (or already did) and is redelivered.
   */
  | { do: 'leave' };

/**
 * The consumer's rule, after each attempt to store a message (`attempt` from 0). An invalid message is
 * dead-lettered at once; a committed one is acked, even while draining; while the store is
 * unavailable it is held and retried with backoff (not nacked back into the queue in a tight loop);
 * any other error is a bug or a property of the message, and retrying it would loop, so it is
 * dead-lettered with the error. While `stopping` (ingest drains, or the channel the message came on
 * closed) nothing new is started: the broker redelivers.
 */
export function nextStep(
  parsed: ParsedIngestMessage,
  outcome: StoreOutcome,
  attempt: number,
  stopping: boolean,
): ConsumerStep {
  if (outcome?.stored) return { do: 'ack' };
  if (stopping) return { do: 'leave' };
  if (parsed.kind === 'invalid') return { do: 'dead-letter', reason: parsed.reason };
  if (outcome === null) return { do: 'leave' };
  const { error } = outcome;
  // Also a connection error that reached us raw (a read outside the store's transactions).
  const storeError = asStoreError(error);
  if (storeError instanceof StoreUnavailableError)
    return { do: 'retry', afterMs: backoff(attempt), error: storeError };
  return {
    do: 'dead-letter',
    reason: `internal error: ${error instanceof Error ? error.message : String(error)}`,
    unexpected: error,
  };
}
