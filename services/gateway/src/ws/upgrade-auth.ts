import { TokenRejectedError, type JwtVerifier, type VerifiedToken } from '@notify/auth';
import { DEVICE_ID_PATTERN } from '@notify/protocol';

export interface UpgradeRequest {
  authorization: string;
  origin: string;
  query: string;
}

export type UpgradeDecision =
  | { ok: true; token: VerifiedToken; deviceId: string; since: number | null }
  | { ok: false; status: '400 Bad Request' | '401 Unauthorized' | '403 Forbidden'; reason: string };

/**
 * Decides an upgrade from what was copied out of the request: Origin allow-list, device id, resume
 * point and token (Authorization header, or `token` query parameter for browsers).
 */
export async function authorizeUpgrade(
  req: UpgradeRequest,
  verifier: JwtVerifier,
  allowedOrigins: readonly string[],
): Promise<UpgradeDecision> {
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
    if (!/^\d{1,15}$/.test(sinceParam))
      return { ok: false, status: '400 Bad Request', reason: 'since must be a seq (integer ≥ 0)' };
    since = Number(sinceParam);
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.authorization)?.[1];
  try {
    const token = await verifier.verify(bearer ?? params.get('token') ?? undefined);
    return { ok: true, token, deviceId, since };
  } catch (err) {
    const reason = err instanceof TokenRejectedError ? `token ${err.problem}` : 'token invalid';
    return { ok: false, status: '401 Unauthorized', reason };
  }
}
