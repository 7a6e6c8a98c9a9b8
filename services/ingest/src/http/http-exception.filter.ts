import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { JsonLogger } from '@notify/logging';
import { asStoreError, StoreUnavailableError } from '@notify/store';

/** What body-parser throws (http-errors): `expose` says whether its message may be shown. */
interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
  expose?: boolean;
  message?: string;
}

/** The one place where errors become HTTP responses: `{statusCode, error, message, errors?}`. */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly log = new JsonLogger('ingest', { component: 'http' });

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const [status, body] = this.describe(exception);
    if (status >= 500) this.log.error('request failed', { status, error: exception });
    if (isPusherApiPath(http.getRequest<Request>().originalUrl))
      res.status(status).type('text').send(asText(body));
    else res.status(status).json(body);
  }

  private describe(exception: unknown): [number, Record<string, unknown>] {
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      const body =
        typeof response === 'object' ? { ...(response as Record<string, unknown>) } : { message: response };
      return [
        exception.getStatus(),
        { statusCode: exception.getStatus(), error: statusText(exception.getStatus()), ...body },
      ];
    }
    const parserError = exception as BodyParserError | null;
    switch (parserError?.type) {
      case 'entity.too.large':
        return [
          413,
          { statusCode: 413, error: 'Payload Too Large', message: `body exceeds ${parserError.limit} bytes` },
        ];
      case 'entity.parse.failed':
        return [400, { statusCode: 400, error: 'Bad Request', message: 'body is not valid JSON' }];
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return [
          415,
          { statusCode: 415, error: 'Unsupported Media Type', message: 'body must be UTF-8 JSON' },
        ];
    }
    // Any other refusal of the body parser (a content-encoding whose bytes do not decode, an aborted
    // or short body) is the client's: its 4xx, never a 500.
    const status = parserError?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message =
        parserError?.expose && parserError.message ? parserError.message : 'body could not be read';
      return [status, { statusCode: status, error: statusText(status), message }];
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

/**
 * The Pusher HTTP API (`/apps/…`) answers errors as Pusher does: a plain-text body, which Pusher's
 * server SDKs put as is into the error they raise (the JSON shape would show up there as JSON).
 */
const isPusherApiPath = (url: string | undefined): boolean => url?.startsWith('/apps/') ?? false;

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
