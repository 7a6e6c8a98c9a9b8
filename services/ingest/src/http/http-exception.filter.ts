import {
  ArgumentsHost,
  Catch,
  HttpException,
  HttpStatus,
  type ExceptionFilter,
  type HttpServer,
} from '@nestjs/common';
import { JsonLogger } from '@notify/logging';
import { asStoreError, StoreUnavailableError } from '@notify/store';
import { isPusherApiPath } from './pusher-api-path';

/**
 * The one place where errors become HTTP responses: `{statusCode, error, message, errors?}`. It
 * answers through the adapter because an error thrown in a middleware comes with Node's bare
 * response, not the framework's reply.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly log = new JsonLogger('ingest', { component: 'http' });

  constructor(
    private readonly adapter: HttpServer,
    private readonly bodyLimitBytes: number,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const [status, body] = this.describe(exception);
    if (status >= 500) this.log.error('request failed', { status, error: exception });
    const url = this.adapter.getRequestUrl?.(http.getRequest());
    // A string is sent as text/plain, an object as JSON. The Pusher HTTP API answers errors as Pusher
    // does, in plain text, which Pusher's server SDKs put as is into the error they raise.
    this.adapter.reply(http.getResponse(), isPusherApiPath(url) ? asText(body) : body, status);
  }

  private describe(exception: unknown): [number, Record<string, unknown>] {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      // The framework's own refusal of a body over its limit, before any parser saw it.
      if (status === 413 && typeof response === 'string')
        return [
          413,
          {
            statusCode: 413,
            error: 'Payload Too Large',
            message: `body exceeds ${this.bodyLimitBytes} bytes`,
          },
        ];
      const body =
        typeof response === 'object' ? { ...(response as Record<string, unknown>) } : { message: response };
      return [status, { statusCode: status, error: statusText(status), ...body }];
    }
    // Also a connection error that reached us raw: a restart of the database is a 503, never a 500.
    if (asStoreError(exception) instanceof StoreUnavailableError) {
      return [
        503,
        {
          statusCode: 503,
          error: 'Service Unavailable',
          message: 'store unavailable; retry with the same idempotencyKey',
        },
      ];
    }
    return [500, { statusCode: 500, error: 'Internal Server Error', message: 'internal error' }];
  }
}

/** `message`, then each failing field on a line of its own. */
function asText(body: Record<string, unknown>): string {
  const errors = Array.isArray(body.errors) ? (body.errors as { field: string; messages: string[] }[]) : [];
  const lines = errors.map((e) => `${e.field}: ${e.messages.join('; ')}`);
  return [String(body.message), ...lines].join('\n') + '\n';
}

function statusText(status: number): string {
  const name = HttpStatus[status];
  return typeof name === 'string'
    ? name
        .toLowerCase()
        .split('_')
        .map((w) => w[0].toUpperCase() + w.slice(1))
        .join(' ')
    : 'Error';
}
