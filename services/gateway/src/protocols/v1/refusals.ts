import { CloseCode, type ErrorFrame } from '@notify/protocol';
import type { CloseReason, Refusal } from '../../core/ports';

/** Each reason the core closes a connection for, as a v1 close code. */
const CLOSE_CODES: Readonly<Record<CloseReason, CloseCode>> = {
  'going-away': CloseCode.GoingAway,
  'too-big': CloseCode.MessageTooBig,
  internal: CloseCode.InternalError,
  'token-expired': CloseCode.TokenExpired,
  forbidden: CloseCode.Forbidden,
  'slow-consumer': CloseCode.SlowConsumer,
  'rate-limited': CloseCode.RateLimited,
  // The user's other connections may close at any time: the client retries, with backoff.
  'too-many-connections': CloseCode.RateLimited,
};

export const closeCodeFor = (reason: CloseReason): CloseCode => CLOSE_CODES[reason];

/** Every refusal of v1 leaves as this one frame; the connection stays. */
export function encodeError(refusal: Refusal): string {
  const frame: ErrorFrame = { type: 'error', code: refusal.kind, message: refusal.message };
  if (refusal.ref !== undefined) frame.ref = refusal.ref;
  return JSON.stringify(frame);
}
