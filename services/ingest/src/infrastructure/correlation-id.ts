import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { correlationIdFrom } from '@notify/logging';

/**
 * The request's correlation id: the producer's `X-Request-Id` when it is a plain short value, else a
 * new one. Kept on `req.id` so that the correlation middleware, pino-http's request line and the
 * controllers agree whichever asks first.
 */
export function requestCorrelationId(req: IncomingMessage & { id?: unknown }): string {
  if (typeof req.id === 'string') return req.id;
  const id = correlationIdFrom(req.headers['x-request-id']);
  req.id = id;
  return id;
}

/** A controller parameter: the request's correlation id, handed to the use case explicitly. */
export const CorrelationId = createParamDecorator((_data: unknown, ctx: ExecutionContext): string =>
  requestCorrelationId(ctx.switchToHttp().getRequest<IncomingMessage>()),
);
