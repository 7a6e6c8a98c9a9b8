import { Injectable, UnsupportedMediaTypeException, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { METHODS_WITH_BODY } from './body-parsers';

/**
 * The API under /v1 takes JSON only. Checked from the header, before the body is read (the parser,
 * body-parsers.ts, reads it after every middleware), so a wrong type costs no reading.
 */
@Injectable()
export class JsonOnlyMiddleware implements NestMiddleware {
  use(req: IncomingMessage, _res: unknown, next: () => void): void {
    if (METHODS_WITH_BODY.has(req.method ?? '') && !isJson(req.headers['content-type'])) {
      throw new UnsupportedMediaTypeException('Content-Type must be application/json');
    }
    next();
  }
}

function isJson(contentType: string | undefined): boolean {
  const semicolon = contentType?.indexOf(';') ?? -1;
  const type = (semicolon < 0 ? contentType : contentType?.slice(0, semicolon))?.trim().toLowerCase();
  return type === 'application/json';
}
