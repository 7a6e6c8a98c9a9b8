import {
  BadRequestException,
  Injectable,
  NotFoundException,
  UnauthorizedException,
  type NestMiddleware,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import {
  hmacSha256Hex,
  requestSigningString,
  sameHex,
  type PusherApp,
  type PusherApps,
} from '@notify/pusher';
import { IngestConfig } from '../config/ingest.config';

/** How far `auth_timestamp` may be from the server's clock, either way (Pusher's window). */
export const MAX_CLOCK_SKEW_SECONDS = 600;

const AUTH_PARAMS = ['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature'] as const;

/**
 * Everything under `/apps/{appId}/` is Pusher's HTTP API, signed as Pusher signs it. In this order:
 * the API is enabled, the app exists (404 otherwise), the query carries a valid signature by the
 * app's key and secret made within MAX_CLOCK_SKEW_SECONDS (401). Only then is the body read (bounded
 * by NOTIFY_BODY_LIMIT_BYTES, http/body-parsers.ts) and checked against `body_md5`
 * (signed-body.guard.ts). Nothing is stored or published for a request refused here.
 */
@Injectable()
export class PusherRequestMiddleware implements NestMiddleware {
  private readonly apps: PusherApps;

  constructor(config: IngestConfig) {
    this.apps = config.pusher.apps;
  }

  use(req: IncomingMessage & { originalUrl?: string }, _res: unknown, next: () => void): void {
    if (!this.apps.enabled)
      throw new NotFoundException('the Pusher HTTP API is not enabled here (NOTIFY_PUSHER_APPS is empty)');
    // originalUrl: the path as the client sent (and signed) it, before any routing took a part off.
    const url = req.originalUrl ?? req.url ?? '';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const appId = /^\/apps\/([^/]*)/.exec(path)?.[1] ?? '';
    const app = this.apps.withId(appId);
    if (!app) throw new NotFoundException(`unknown app id "${appId.slice(0, 64)}"`);
    const query = singleValued(queryAt < 0 ? '' : url.slice(queryAt + 1));
    checkSignature(app, req.method ?? '', path, query);
    next();
  }
}

/** The query's parameters, decoded; a parameter given twice is refused (which one was signed?). */
function singleValued(rawQuery: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQuery)) {
    if (Object.hasOwn(query, key)) throw new BadRequestException(`query parameter ${key} is given twice`);
    query[key] = value;
  }
  return query;
}

function checkSignature(app: PusherApp, method: string, path: string, query: Record<string, string>): void {
  const missing = AUTH_PARAMS.filter((k) => query[k] === undefined);
  if (missing.length > 0)
    throw new UnauthorizedException(
      `unsigned request: missing ${missing.join(', ')} (sign it as Pusher's SDKs do)`,
    );
  if (query.auth_version !== '1.0') throw new UnauthorizedException('auth_version must be 1.0');
  if (query.auth_key !== app.key) throw new UnauthorizedException(`auth_key is not the key of app ${app.id}`);
  const timestamp = /^\d{1,12}$/.test(query.auth_timestamp) ? Number(query.auth_timestamp) : NaN;
  const skew = Math.abs(Date.now() / 1000 - timestamp);
  if (!(skew <= MAX_CLOCK_SKEW_SECONDS))
    throw new UnauthorizedException(
      `auth_timestamp must be within ${MAX_CLOCK_SKEW_SECONDS} s of the server's time (${new Date().toISOString()}); check the clock`,
    );
  const signed = requestSigningString(method, path, query);
  if (sameHex(query.auth_signature, hmacSha256Hex(app.secret, signed))) return;
  // Some clients sign the path before percent-encoding it (a user id with a space); the signature by
  // the app's secret still covers what the request means.
  const decoded = safeDecode(path);
  if (
    decoded !== path &&
    sameHex(query.auth_signature, hmacSha256Hex(app.secret, requestSigningString(method, decoded, query)))
  )
    return;
  throw new UnauthorizedException(
    `invalid signature: expected the HMAC-SHA256 hex, keyed with the app's secret, of ${JSON.stringify(signed)}`,
  );
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
