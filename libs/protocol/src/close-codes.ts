/**
 * WebSocket close codes of protocol v1. 1xxx are RFC 6455 codes; 4xxx are ours, and the numbers
 * are part of the wire contract (docs/protocol.md), so they never change meaning.
 *
 * What a client does after a close is read from the code, by `closeAction`, in this order:
 *  1. the codes below, each with its action (CLOSE_ACTIONS);
 *  2. ranges, for codes a client does not know yet (a newer server):
 *     - 4000–4099: terminal (`stop`): reserved for refusals that resending cannot fix;
 *     - 4100–4999: `reconnect` with backoff;
 *     - anything else (RFC codes, 1006 for a dropped connection): `reconnect` with backoff.
 * The gateway picks the code for a reason and the SDK decides from the code with this one rule.
 */
export enum CloseCode {
  Normal = 1000,
  /** The node is draining; reconnect (to any node) after the `reconnect` frame's delay. */
  GoingAway = 1001,
  /** The connection dropped without a close frame (never sent on the wire; seen by clients). */
  Abnormal = 1006,
  /** The client sent a frame over the size limit: resending it cannot succeed. */
  MessageTooBig = 1009,
  InternalError = 1011,
  /** The token reached its `exp`: reconnect with a fresh one. */
  TokenExpired = 4401,
  /** The connection may never do what it tried: do not reconnect. */
  Forbidden = 4403,
  /** The send buffer went over its limit; resume later from the device cursor. */
  SlowConsumer = 4408,
  /**
   * Too many frames, or the user already holds the maximum of connections across the cluster;
   * reconnect after a backoff.
   */
  RateLimited = 4429,
}

/** What a client does after a close: reconnect with backoff, reconnect with a new token, or stop. */
export type CloseAction = 'reconnect' | 'refresh-token' | 'stop';

/** The 4xxx range whose codes are terminal, known to the client or not. */
export const TERMINAL_CLOSE_RANGE: readonly [number, number] = [4000, 4099];

const CLOSE_ACTIONS: ReadonlyMap<number, CloseAction> = new Map<number, CloseAction>([
  [CloseCode.MessageTooBig, 'stop'],
  [CloseCode.Forbidden, 'stop'],
  [CloseCode.TokenExpired, 'refresh-token'],
  [CloseCode.GoingAway, 'reconnect'],
  [CloseCode.InternalError, 'reconnect'],
  [CloseCode.SlowConsumer, 'reconnect'],
  [CloseCode.RateLimited, 'reconnect'],
]);

export function closeAction(code: number): CloseAction {
  const known = CLOSE_ACTIONS.get(code);
  if (known) return known;
  if (code >= TERMINAL_CLOSE_RANGE[0] && code <= TERMINAL_CLOSE_RANGE[1]) return 'stop';
  return 'reconnect';
}

export function closeCodeAllowsReconnect(code: number): boolean {
  return closeAction(code) !== 'stop';
}
