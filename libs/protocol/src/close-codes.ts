/**
 * WebSocket close codes of protocol v1. 1xxx are RFC 6455 codes; 4xxx are ours.
 * Reconnect: GoingAway, SlowConsumer, RateLimited (after a delay), TokenExpired (with a fresh token).
 * Terminal: Forbidden, MessageTooBig (the client sent something it must not resend).
 */
export enum CloseCode {
  Normal = 1000,
  /** The node is draining; reconnect (to any node) after the `reconnect` frame's delay. */
  GoingAway = 1001,
  MessageTooBig = 1009,
  InternalError = 1011,
  TokenExpired = 4401,
  Forbidden = 4403,
  /** The send buffer went over its limit; resume later from the device cursor. */
  SlowConsumer = 4408,
  RateLimited = 4429,
}

export function closeCodeAllowsReconnect(code: number): boolean {
  return code !== CloseCode.Forbidden && code !== CloseCode.MessageTooBig;
}
