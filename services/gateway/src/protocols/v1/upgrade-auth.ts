import { TokenRejectedError, type JwtVerifier, type VerifiedToken } from '@notify/auth';
import { DEVICE_ID_PATTERN } from '@notify/protocol';
import type { UpgradeRejection as Rejection, UpgradeRequest } from '../../core/protocol-adapter';
import type { SessionFields } from '../../core/sessions/session';

/** An upgrade decided: the adapter adds itself as the connection's port. */
export type V1UpgradeDecision = { ok: true; fields: SessionFields } | Rejection;

/** What can be decided without the token: Origin allow-list, device id, resume point. */
type RequestCheck =
  { ok: true; bearer: string | undefined; deviceId: string; since: number | null } | Rejection;

const accepted = (
  token: VerifiedToken,
  check: { deviceId: string; since: number | null },
): V1UpgradeDecision => ({
  ok: true,
  fields: {
    userId: token.userId,
    deviceId: check.deviceId,
    expiresAt: token.expiresAt,
    channels: token.channels,
    since: check.since,
    info: token.info,
  },
});

function checkRequest(req: UpgradeRequest, allowedOrigins: readonly string[]): RequestCheck {
  if (allowedOrigins.length > 0 && req.origin && !allowedOrigins.includes(req.origin)) {
    return { ok: false, status: '403 Forbidden', reason: 'origin not allowed' };
  }
  const params = new URLSearchParams(req.query);
  const deviceId = params.get('device') ?? '';
  if (!DEVICE_ID_PATTERN.test(deviceId)) {
    return {
      ok: false,
      status: '400 Bad Request',
      reason: 'device must be 1-64 characters of A-Z a-z 0-9 _ -',
    };
  }
  const sinceParam = params.get('since');
  let since: number | null = null;
  if (sinceParam !== null) {
    if (!/^\d{1,15}$/.test(sinceParam)) {
      return { ok: false, status: '400 Bad Request', reason: 'since must be a seq (integer ≥ 0)' };
    }
    since = Number(sinceParam);
  }
  // Header first; `token` in the query is for browsers, which cannot set headers on WebSockets.
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.authorization)?.[1] ?? params.get('token') ?? undefined;
  return { ok: true, bearer, deviceId, since };
}

function rejectToken(err: unknown): Rejection {
  if (!(err instanceof TokenRejectedError))
    return { ok: false, status: '401 Unauthorized', reason: 'token invalid' };
  const reason = err.shown ? `token ${err.problem}: ${err.message}` : `token ${err.problem}`;
  return { ok: false, status: '401 Unauthorized', reason };
}

/**
 * Decides an upgrade at once, inside uWS' own handler: the verifier is synchronous whatever its keys
 * (docs/architecture.md, "uWebSockets.js 20.30 and async upgrades").
 */
export function authorizeUpgrade(
  req: UpgradeRequest,
  verifier: JwtVerifier,
  allowedOrigins: readonly string[],
): V1UpgradeDecision {
  const check = checkRequest(req, allowedOrigins);
  if (!check.ok) return check;
  if (!verifier.ready) {
    return { ok: false, status: '503 Service Unavailable', reason: 'token keys not loaded yet; retry' };
  }
  try {
    return accepted(verifier.verifySync(check.bearer), check);
  } catch (err) {
    return rejectToken(err);
  }
}
