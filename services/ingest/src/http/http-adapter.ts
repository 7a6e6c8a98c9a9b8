import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { IncomingMessage } from 'node:http';
import type { TlsFiles } from '@notify/config';
import { requestCorrelationId } from '../infrastructure/correlation-id';

/**
 * Nest over Fastify rather than Express: on the producer's path (a POST per notification) the
 * framework's routing, body reading and reply cost ingest about a sixth less CPU per request at
 * 1,000/s, which is queueing it no longer adds (docs/performance.md, W6).
 */
export function createHttpAdapter(options: { bodyLimitBytes: number; tls?: TlsFiles }): FastifyAdapter {
  const { tls } = options;
  return new FastifyAdapter({
    bodyLimit: options.bodyLimitBytes,
    // With TLS files the port serves only HTTPS.
    ...(tls
      ? {
          https: {
            cert: tls.cert,
            key: tls.key,
            ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
          },
        }
      : {}),
    // Fastify's request id is the correlation id, so that the middlewares, the request log line and
    // the controllers agree whichever asks first.
    genReqId: (req: unknown) => requestCorrelationId(req as IncomingMessage),
    // Node's own defaults, which Fastify would otherwise replace with none (a request could take
    // forever to arrive) and 72 s (an idle kept-alive connection holds a descriptor that long).
    requestTimeout: 300_000,
    keepAliveTimeout: 5_000,
    routerOptions: {
      // As Express routed: `/v1/notifications/` is `/v1/notifications`.
      ignoreTrailingSlash: true,
      // A channel name (up to 200 characters, percent-encoded) is a path parameter.
      maxParamLength: 2048,
    },
  });
}
