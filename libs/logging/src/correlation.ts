import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The correlation id of the request or message being handled, for ingest's log lines and its
 * delivery headers. Only ingest runs work inside it: an AsyncLocalStorage in use costs every
 * promise of the process, which the gateway's hot path does not pay (it reads the id from the
 * delivery headers instead).
 */
const storage = new AsyncLocalStorage<string>();

/** A producer's id is kept when it is short and plain; anything else is replaced, never logged. */
const ACCEPTABLE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function correlationIdFrom(value: unknown): string {
  return typeof value === 'string' && ACCEPTABLE.test(value) ? value : randomUUID();
}

export function runWithCorrelation<T>(id: string, fn: () => T): T {
  return storage.run(id, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}
