import type { DynamicModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { JsonLogger } from '@notify/logging';
import { requestCorrelationId } from '../infrastructure/correlation-id';

/** The path without its query string: a query may carry a token, and never reaches a log line. */
const pathOf = (req: IncomingMessage): string => (req.url ?? '').split('?')[0] ?? '';

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * nestjs-pino: Nest's own lines (start-up, routes, errors) and one line per HTTP request go through
 * the process's pino logger, in the JSON shape of every other line. The request line is at debug
 * (info would cost a line per notification), warn for a 5xx; it names method, path, status and
 * time, never a header or the query string.
 */
export function requestLoggingModule(log: JsonLogger): DynamicModule {
  return LoggerModule.forRoot({
    // Below debug there is no request line to write, so the middleware serves no route at all. It
    // would cost each request a child logger and a response hook, and worse: the first request it
    // serves (a readiness probe is enough) runs an AsyncLocalStorage, which turns on promise hooks
    // for the whole process for good, a cost on every promise of every path after it (W1 over HTTP
    // lost about a tenth to them).
    forRoutes: log.debugEnabled ? undefined : [],
    pinoHttp: {
      logger: log.pinoLogger,
      genReqId: (req: IncomingMessage) => requestCorrelationId(req),
      customAttributeKeys: { reqId: 'correlationId' },
      quietReqLogger: true,
      quietResLogger: true,
      // Probes and scrapes would be most of the lines; a not-ready 503 is an answer, not a fault.
      autoLogging: { ignore: (req: IncomingMessage) => PROBES.has(pathOf(req)) },
      // A 5xx is a warning here: the exception filter logs the error itself, with its cause.
      customLogLevel: (_req: IncomingMessage, res: ServerResponse) =>
        res.statusCode >= 500 ? 'warn' : 'debug',
      customSuccessMessage: () => 'request completed',
      customSuccessObject: (req: IncomingMessage, res: ServerResponse, value: { responseTime?: number }) => ({
        method: req.method,
        path: pathOf(req),
        status: res.statusCode,
        responseTime: value.responseTime,
      }),
      customErrorMessage: () => 'request completed',
      customErrorObject: (req: IncomingMessage, res: ServerResponse) => ({
        method: req.method,
        path: pathOf(req),
        status: res.statusCode,
      }),
    },
  });
}
