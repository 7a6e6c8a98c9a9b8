import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestCorrelationId } from '../infrastructure/correlation-id';

/**
 * Gives the request its correlation id (`req.id`, which the controllers hand to the use cases, so
 * that the delivery messages carry it) and echoes it in `X-Request-Id`.
 */
@Injectable()
export class CorrelationMiddleware implements NestMiddleware {
  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const id = requestCorrelationId(req);
    res.setHeader('x-request-id', id);
    next();
  }
}
