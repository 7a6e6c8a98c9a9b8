import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { correlationIdFrom, runWithCorrelation } from '@notify/logging';

/**
 * The request's correlation id: the producer's `X-Request-Id` when it is a plain short value, else a
 * new one. Kept on `req.id` so that pino-http's request line (request-logging.ts) and this middleware
 * agree whichever runs first.
 */
export function requestCorrelationId(req: IncomingMessage & { id?: unknown }): string {
  if (typeof req.id === 'string') return req.id;
  const id = correlationIdFrom(req.headers['x-request-id']);
  req.id = id;
  return id;
}

/**
 * Runs the rest of the request inside its correlation id, so that every line ingest logs for it and
 * the delivery messages it publishes carry the id; the response echoes it in `X-Request-Id`.
 */
@Injectable()
export class CorrelationMiddleware implements NestMiddleware {
  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const id = requestCorrelationId(req);
    res.setHeader('x-request-id', id);
    runWithCorrelation(id, next);
  }
}
