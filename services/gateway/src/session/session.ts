import type { WebSocket } from 'uWebSockets.js';
import type { ChannelNode } from '../channels/channel-fanout';
import { newStreamCursor, type StreamCursor } from '../delivery/ordered-stream';
import { newFrameRateState, type FrameRateState } from '../ws/frame-rate';

/**
 * The socket's uWS user data: one field. uWS copies user data's fields onto its WebSocket object
 * one by one, and past about a dozen V8 turns that object into a hash table (measured: ~500 B more
 * per socket with the session's fields copied there).
 */
export interface SocketData {
  readonly session: Session;
}

/**
 * Per-socket state. Copied out of the upgrade request synchronously, then mutated only on the event
 * loop.
 *
 * One flat object, since memory per idle connection is a target: the session is itself the cursor
 * of its user notifications (StreamCursor: `position` is the highest seq written to the socket) and
 * its frame budget (FrameRateState) rather than holding two more objects. No per-socket timer, no
 * collection until the socket subscribes to something.
 */
export interface Session extends StreamCursor, FrameRateState {
  readonly userId: string;
  readonly deviceId: string;
  /** Token expiry, seconds since epoch. */
  readonly expiresAt: number;
  readonly channels: readonly string[];
  /** Resume point the client asked for, or null. */
  readonly since: number | null;
  ws: WebSocket<SocketData> | null;
  /** Highest seq the device acked on this connection. */
  ackedSeq: number;
  /** Newest read-state version sent on this socket; older `read` broadcasts are dropped. */
  readVersion: number;
  closed: boolean;
  /** Channel subscriptions, created at the first; `active` once the socket is on the channel's topic. */
  subscriptions: Map<string, { node: ChannelNode; active: boolean }> | null;
  /** The next session of the same user on this node (SessionRegistry's list). */
  nextOfUser: Session | null;
}

export function newSession(fields: {
  userId: string;
  deviceId: string;
  expiresAt: number;
  channels: readonly string[];
  since: number | null;
  framesPerSecond: number;
}): Session {
  // Their starting states (a cursor catching up, a full budget), copied into the one flat object.
  const cursor = newStreamCursor();
  const rate = newFrameRateState(fields.framesPerSecond);
  return {
    userId: fields.userId,
    deviceId: fields.deviceId,
    expiresAt: fields.expiresAt,
    channels: fields.channels,
    since: fields.since,
    ws: null,
    position: cursor.position,
    target: cursor.target,
    catchingUp: cursor.catchingUp,
    ackedSeq: 0,
    readVersion: 0,
    closed: false,
    subscriptions: null,
    nextOfUser: null,
    tokens: rate.tokens,
    stamp: rate.stamp,
    refused: rate.refused,
  };
}
