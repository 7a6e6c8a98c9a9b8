import { randomUUID } from 'node:crypto';

/**
 * Correlation ids travel explicitly (request → use case → delivery headers → gateway), never in an
 * AsyncLocalStorage: one in use costs every promise of the process, about a tenth of ingest's AMQP
 * throughput in W1, and a group commit would give a whole batch one request's id.
 */

/** A producer's id is kept when it is short and plain; anything else is replaced, never logged. */
const ACCEPTABLE = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function correlationIdFrom(value: unknown): string {
  return typeof value === 'string' && ACCEPTABLE.test(value) ? value : randomUUID();
}
