import type { WebSocket } from 'uWebSockets.js';
import type { ChannelNode } from '../channels/channel-fanout';
import { newStreamCursor, type StreamCursor } from '../delivery/ordered-stream';
import { newFrameRateState, type FrameRateState } from '../ws/frame-rate';

/**
 * Per-socket state, stored as the socket's uWS user data. Copied out of the upgrade request
 * synchronously, then mutated only on the event loop. Kept small (memory per idle connection is a
 * target): no per-socket timer, no collection until the socket subscribes to something.
 */
export interface Session {
  readonly userId: string;
  readonly deviceId: string;
  /** Token expiry, seconds since epoch. */
  readonly expiresAt: number;
  readonly channels: readonly string[];
  /** Resume point the client asked for, or null. */
  readonly since: number | null;
  ws: WebSocket<Session> | null;
  /** User notifications on this socket: `position` is the highest seq written to it. */
  stream: StreamCursor;
  /** Highest seq the device acked on this connection. */
  ackedSeq: number;
  /** Newest read-state version sent on this socket; older `read` broadcasts are dropped. */
  readVersion: number;
  closed: boolean;
  /** Channel subscriptions, created at the first; `active` once the socket is on the channel's topic. */
  subscriptions: Map<string, { node: ChannelNode; active: boolean }> | null;
  rate: FrameRateState;
}

export function newSession(fields: {
  userId: string;
  deviceId: string;
  expiresAt: number;
  channels: readonly string[];
  since: number | null;
  framesPerSecond: number;
}): Session {
  const { framesPerSecond, ...identity } = fields;
  return {
    ...identity,
    ws: null,
    stream: newStreamCursor(),
    ackedSeq: 0,
    readVersion: 0,
    closed: false,
    subscriptions: null,
    rate: newFrameRateState(framesPerSecond, Date.now()),
  };
}
