import { BadRequestException, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { isPusherApiPath } from './pusher-api-path';

/** Only these methods carry a body anyone reads; another method's body is drained and ignored. */
export const METHODS_WITH_BODY: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

const DECODERS: Record<string, (bytes: Buffer, options: { maxOutputLength: number }) => Buffer> = {
  gzip: gunzipSync,
  'x-gzip': gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
};

/**
 * Every body is read by one parser, bounded by NOTIFY_BODY_LIMIT_BYTES before and after decoding,
 * and refused with ingest's own 4xx messages, answered by the exception filter like every other
 * error. The JSON type itself is checked before the body is read (json-only.middleware.ts).
 */
export function registerBodyParsers(fastify: FastifyInstance, limitBytes: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limitBytes }, (req, body, done) => {
    try {
      done(null, parseBody(req, body as Buffer, limitBytes));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

function parseBody(req: FastifyRequest, bytes: Buffer, limitBytes: number): unknown {
  if (!METHODS_WITH_BODY.has(req.method)) return undefined;
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  // Pusher's HTTP API: `body_md5` signs the bytes as sent, so they stay bytes until they are checked
  // (pusher/signed-body.guard.ts).
  if (isPusherApiPath(req.url)) {
    if (encoding !== 'identity')
      throw new UnsupportedMediaTypeException(
        'content-encoding is refused here: body_md5 signs the bytes sent',
      );
    return bytes;
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset))
    throw new UnsupportedMediaTypeException('body must be UTF-8 JSON');
  const text = decode(bytes, encoding, limitBytes).toString('utf8');
  // body-parser's strict mode, as before: an empty body is an empty object, else an object or array.
  const start = /\S/.exec(text);
  if (start === null) return {};
  if (start[0] !== '{' && start[0] !== '[') throw new BadRequestException('body is not valid JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestException('body is not valid JSON');
  }
}

function decode(bytes: Buffer, encoding: string, limitBytes: number): Buffer {
  if (encoding === 'identity') return bytes;
  const decoder = DECODERS[encoding];
  if (!decoder)
    throw new UnsupportedMediaTypeException(
      `content-encoding "${encoding.slice(0, 40)}" is not supported (gzip, deflate, br or none)`,
    );
  try {
    return decoder(bytes, { maxOutputLength: limitBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new PayloadTooLargeException(`body exceeds ${limitBytes} bytes once decoded`);
    throw new BadRequestException(`body is not valid ${encoding}`);
  }
}
