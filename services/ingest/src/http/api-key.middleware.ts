import { Injectable, UnauthorizedException, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { ApiKeySet } from '@notify/auth';
import { IngestConfig } from '../config/ingest.config';

/** Runs before the body is read, so an unauthenticated caller costs no parsing. */
@Injectable()
export class ApiKeyMiddleware implements NestMiddleware {
  private readonly keys: ApiKeySet;

  constructor(config: IngestConfig) {
    this.keys = new ApiKeySet(config.apiKeys);
  }

  use(req: IncomingMessage, _res: unknown, next: () => void): void {
    if (!this.keys.matchesAuthorizationHeader(req.headers.authorization)) {
      throw new UnauthorizedException('missing or unknown producer API key (Authorization: Bearer <key>)');
    }
    next();
  }
}
