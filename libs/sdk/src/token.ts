import { CloseCode } from '@notify/protocol';
import { readJwtClaims } from './host.js';
import { NotifyError, type NotifyClientOptions } from './types.js';

/** A token this close to its `exp` is refreshed before connecting with it. */
const TOKEN_MARGIN_MS = 10_000;

/** A fixed token string expired (or the server closed with `closeCode` for it): nothing renews it. */
export function tokenExpired(closeCode: number = CloseCode.TokenExpired): NotifyError {
  return new NotifyError('token', 'the token expired and no token function was given to renew it', {
    closeCode,
  });
}

/** The token to connect with: the fixed string, or the token function's, asked again when stale. */
export class TokenSource {
  private token: string | null = null;
  private stale = false;

  constructor(
    private readonly source: NotifyClientOptions['token'],
    /** A new token names this user (its `sub`). */
    private readonly onUser: (userId: string) => void,
  ) {}

  /** A fixed string cannot be renewed: a close that asks for a new token stops the client. */
  get fixed(): boolean {
    return typeof this.source === 'string';
  }

  /** The server may have refused the token (4401, or a failure before ready): ask for another next time. */
  markStale(): void {
    this.stale = true;
  }

  async current(): Promise<string> {
    const source = this.source;
    if (typeof source === 'string') {
      const exp = readJwtClaims(source).exp;
      if (exp !== undefined && exp * 1000 <= Date.now()) throw tokenExpired();
      return source;
    }
    const exp = this.token === null ? undefined : readJwtClaims(this.token).exp;
    const expiring = exp !== undefined && exp * 1000 - TOKEN_MARGIN_MS <= Date.now();
    if (this.token === null || this.stale || expiring) {
      const token = await source();
      if (typeof token !== 'string' || token.length === 0) {
        throw new NotifyError('token', 'the token function returned no token');
      }
      this.token = token;
      this.stale = false;
      const sub = readJwtClaims(token).sub;
      if (sub !== undefined) this.onUser(sub);
    }
    return this.token;
  }
}
