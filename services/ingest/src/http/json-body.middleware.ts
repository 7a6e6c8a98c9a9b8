import { Injectable, UnsupportedMediaTypeException, type NestMiddleware } from '@nestjs/common';
import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { IngestConfig } from '../config/ingest.config';

/**
 * JSON bodies only, bounded by NOTIFY_BODY_LIMIT_BYTES. The parser's errors are rethrown (not passed
 * to express' `next(err)`) so that the exception filter answers them like every other error.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly parse: RequestHandler;

  constructor(config: IngestConfig) {
    this.parse = json({ limit: config.bodyLimitBytes, strict: true, type: () => true });
  }

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH') {
      if (!req.is('application/json')) {
        throw new UnsupportedMediaTypeException('Content-Type must be application/json');
      }
      await new Promise<void>((resolve, reject) =>
        this.parse(req, res, (err?: unknown) => (err ? reject(err) : resolve())),
      );
    }
    next();
  }
}
