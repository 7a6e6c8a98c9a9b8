import {
  BadRequestException,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { md5Hex, sameHex } from '@notify/pusher';

interface SignedRequest {
  method: string;
  body?: unknown;
  query?: Record<string, unknown>;
}

/**
 * The second half of a Pusher request's check, once its body was read (as bytes, never decoded):
 * the bytes must be those `body_md5` signed (401), then they must be JSON (400), which becomes the
 * body the handler sees. The signature itself, which covers `body_md5`, was checked before the body
 * was read (pusher-request.middleware.ts).
 */
@Injectable()
export class SignedBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<SignedRequest>();
    if (req.method === 'POST') {
      const md5 = req.query?.body_md5;
      req.body = parseSignedBody(req.body, typeof md5 === 'string' ? md5 : undefined);
    }
    return true;
  }
}

function parseSignedBody(body: unknown, bodyMd5: string | undefined): unknown {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  if (bytes.length === 0 && bodyMd5 === undefined) return undefined;
  if (bodyMd5 === undefined) throw new UnauthorizedException('body_md5 is required with a body');
  if (!sameHex(bodyMd5, md5Hex(bytes)))
    throw new UnauthorizedException('body_md5 is not the MD5 of the body that was sent');
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new BadRequestException('body is not valid JSON');
  }
}
