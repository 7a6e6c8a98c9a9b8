/**
 * The store cannot be reached right now (connection refused or lost, PostgreSQL shutting down or out
 * of resources): the same work will succeed once it is back, so callers retry it (HTTP 503, an AMQP
 * message held and retried). Any other error of the store is a property of the input or a bug, and
 * retrying it would loop. The original error is the `cause`.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';

  constructor(cause: unknown) {
    super(`store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

const NODE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

/** What `pg` rejects a query with when it outlived the pool's `query_timeout` (database.ts). */
export function isQueryTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'Query read timeout';
}

/**
 * Node's network errors, PostgreSQL's SQLSTATE classes 08 (connection exception), 53 (insufficient
 * resources) and 57P0x (shutdown, cannot connect now), what `pg` throws without a code when its
 * connection or pool goes away (also a query sent on a client whose server just terminated it), and
 * a query that outlived the pool's `query_timeout` (its connection is ended: see database.ts).
 */
function isStoreUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (isQueryTimeout(err)) return true;
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NODE_NETWORK_CODES.has(code)) return true;
    if (/^(08|53|57P0)/.test(code)) return true;
  }
  const message = (err as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|is not queryable|Cannot use a pool after calling end/i.test(
      message,
    )
  );
}

/** `err` as the store reports it: a StoreUnavailableError when the store is unreachable, else as is. */
export function asStoreError(err: unknown): unknown {
  return isStoreUnavailable(err) && !(err instanceof StoreUnavailableError)
    ? new StoreUnavailableError(err)
    : err;
}
