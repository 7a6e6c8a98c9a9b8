import type { StreamPayload } from '@notify/protocol';
import type { PresenceInfo, StoredChannelMessage } from '@notify/store';
import type { ChannelNode } from '../channels/channel-fanout';
import type {
  CloseReason,
  HistoryPage,
  PreferencesChange,
  ReadChange,
  ReadyInfo,
  Refusal,
  RetractionChange,
  SubscribedInfo,
} from '../ports';
import { newStreamCursor, type StreamCursor } from '../user-stream/ordered-stream';
import { newFrameRateState, type FrameRateState } from './frame-rate';

/**
 * Per-connection state, whatever the protocol. Copied out of the upgrade request synchronously, then
 * mutated only on the event loop.
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
  /** The token's `info` claim: what presence channels show of this user. */
  readonly info: PresenceInfo | undefined;
  /** The protocol this connection speaks: everything the core tells the client goes through it. */
  readonly protocol: ClientPort;
  /**
   * The transport's handle on the connection, null until it opens and after it closes. The core
   * never looks inside (it knows no socket library); only the transport reads it back.
   */
  conn: object | null;
  /** This process's number for the connection (ConnectionIds): its UUID without a string per socket. */
  connectionNumber: number;
  /** Highest seq the device acked on this connection. */
  ackedSeq: number;
  /** Newest read-state version sent on this socket; older `read` broadcasts are dropped. */
  readVersion: number;
  closed: boolean;
  /** Channel subscriptions, created at the first; `active` once the socket receives the channel live. */
  subscriptions: Map<string, { node: ChannelNode; active: boolean }> | null;
  /** The next session of the same user on this node (SessionRegistry's list). */
  nextOfUser: Session | null;
}

/**
 * What the core tells one connection, in the protocol that connection speaks. Sends return false
 * when the connection is gone or was closed for being too slow: the caller stops there.
 */
export interface ClientPort {
  ready(s: Session, info: ReadyInfo): void;
  /** A live notification; `body` is the delivery message as ingest published it, sent without parsing. */
  liveNotification(s: Session, body: Uint8Array): boolean;
  /** A notification read from the store (replay after a resume point or a gap; retracted ones bare). */
  storedNotification(s: Session, n: StreamPayload): boolean;
  readChanged(s: Session, change: ReadChange, ref?: string): void;
  /** Notifications retracted; without `withCount` the unread count is left out (a newer one was sent). */
  retracted(s: Session, change: RetractionChange, withCount: boolean): void;
  preferences(s: Session, change: PreferencesChange, ref?: string): void;
  history(s: Session, page: HistoryPage, ref?: string): void;
  subscribed(s: Session, info: SubscribedInfo, ref?: string): void;
  unsubscribed(s: Session, channel: string, ref?: string): void;
  /** A channel message replayed to this connection alone (resume after `since`). */
  channelMessage(s: Session, m: StoredChannelMessage): boolean;
  /** From now on the connection receives the channel's live messages (ChannelOutput). */
  joinChannel(s: Session, channel: string): void;
  leaveChannel(s: Session, channel: string): void;
  /** From now on the connection receives the channel's presence changes (PresenceOutput), as member `userId`. */
  joinPresence(s: Session, channel: string, userId: string): void;
  leavePresence(s: Session, channel: string): void;
  refuse(s: Session, refusal: Refusal): void;
  close(s: Session, reason: CloseReason, detail: string): void;
  /** The node is draining: ask the client to reconnect elsewhere after `afterMs`, then close. */
  drain(s: Session, afterMs: number): void;
}

export interface SessionFields {
  userId: string;
  deviceId: string;
  expiresAt: number;
  channels: readonly string[];
  since: number | null;
  info?: PresenceInfo;
}

export function newSession(fields: SessionFields, protocol: ClientPort, framesPerSecond: number): Session {
  // Their starting states (a cursor catching up, a full budget), copied into the one flat object.
  const cursor = newStreamCursor();
  const rate = newFrameRateState(framesPerSecond);
  return {
    userId: fields.userId,
    deviceId: fields.deviceId,
    expiresAt: fields.expiresAt,
    channels: fields.channels,
    since: fields.since,
    info: fields.info,
    protocol,
    conn: null,
    connectionNumber: 0,
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
