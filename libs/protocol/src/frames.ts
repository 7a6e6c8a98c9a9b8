/** Wire protocol v1: every frame is one JSON text object with a `type`. */

export type ErrorCode = 'bad_request' | 'forbidden' | 'not_found' | 'rate_limited' | 'internal';

export interface NotificationPayload {
  seq: number;
  id: string;
  topic: string;
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
  createdAt: string;
  readAt: string | null;
}

export interface ReadyFrame {
  type: 'ready';
  userId: string;
  deviceId: string;
  connectionId: string;
  node: string;
  /** The user's newest seq when the connection opened. */
  lastSeq: number;
  /** Unread notifications when the connection opened (the SDK's `client.unread` keeps it current). */
  unread: number;
}
export interface NotificationFrame extends NotificationPayload {
  type: 'notification';
}
export interface SubscribedFrame {
  type: 'subscribed';
  channel: string;
  offset: number;
  recovered?: boolean;
  /** On `presence.*` channels: every member when the subscription started (the subscriber included). */
  members?: PresenceMemberPayload[];
  ref?: string;
}
export interface PresenceMemberPayload {
  userId: string;
  /** The token's `info` claim of the connection that made the user a member. */
  info?: Record<string, unknown>;
}
/** One change of a presence channel's members. */
export type PresenceChangePayload =
  { event: 'join'; userId: string; info?: Record<string, unknown> } | { event: 'leave'; userId: string };
/**
 * A presence change: the single-change shape (`event`, `userId`, `info`) when one change is sent,
 * or `changes` when several of one window go together (in order; apply them as a list).
 */
export type PresenceFrame = { type: 'presence'; channel: string } & (
  PresenceChangePayload | { changes: PresenceChangePayload[] }
);
export interface UnsubscribedFrame {
  type: 'unsubscribed';
  channel: string;
  ref?: string;
}
export interface MessageFrame {
  type: 'message';
  channel: string;
  offset: number;
  id: string;
  data: unknown;
  createdAt: string;
}
export interface ReadFrame {
  type: 'read';
  ids: string[];
  unread: number;
  /**
   * The user's newest seq when `unread` was counted (an addition to the v1 contract): a client adds
   * the unread notifications it holds with a higher seq, since broadcasts and notifications travel
   * through different publishers and may arrive in either order.
   */
  asOfSeq: number;
  /** Echoed on the asking socket's copy only (an addition to v1). */
  ref?: string;
}
export interface HistoryFrame {
  type: 'history';
  items: NotificationPayload[];
  nextBefore: number | null;
  ref?: string;
}
export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  ref?: string;
}
export interface ReconnectFrame {
  type: 'reconnect';
  afterMs: number;
}
export interface PongFrame {
  type: 'pong';
  ref?: string;
}

export type ServerFrame =
  | ReadyFrame
  | NotificationFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | MessageFrame
  | ReadFrame
  | HistoryFrame
  | ErrorFrame
  | ReconnectFrame
  | PongFrame
  | PresenceFrame;

export interface AckFrame {
  type: 'ack';
  seq: number;
  /** Echoed on an error about this ack (an addition to v1). */
  ref?: string;
}
export interface SubscribeFrame {
  type: 'subscribe';
  channel: string;
  since?: number;
  ref?: string;
}
export interface UnsubscribeFrame {
  type: 'unsubscribe';
  channel: string;
  ref?: string;
}
export interface MarkReadFrame {
  type: 'read';
  ids?: string[];
  upTo?: number;
  ref?: string;
}
/** Unread notifications listed when a `history` request gives no `limit`. */
export const HISTORY_PAGE_DEFAULT = 20;
export interface HistoryRequestFrame {
  type: 'history';
  before?: number;
  limit?: number;
  unreadOnly?: boolean;
  ref?: string;
}
export interface PingFrame {
  type: 'ping';
  ref?: string;
}

export type ClientFrame =
  AckFrame | SubscribeFrame | UnsubscribeFrame | MarkReadFrame | HistoryRequestFrame | PingFrame;

export type ServerFrameType = ServerFrame['type'];
export type ClientFrameType = ClientFrame['type'];

/** Typed map of server frames, for SDK event handlers and tests. */
export type ServerFrameMap = { [F in ServerFrame as F['type']]: F };

/** The `notification` frame's JSON, as gateways send it and ingest publishes it. */
export function encodeNotificationFrame(payload: NotificationPayload): string {
  return JSON.stringify({ type: 'notification', ...payload });
}

export interface ChannelMessagePayload {
  channel: string;
  offset: number;
  id: string;
  data: unknown;
  createdAt: string;
}

/** The `message` frame's JSON, as gateways send it and ingest publishes it. */
export function encodeMessageFrame(m: ChannelMessagePayload): string {
  return JSON.stringify({
    type: 'message',
    channel: m.channel,
    offset: m.offset,
    id: m.id,
    data: m.data,
    createdAt: m.createdAt,
  });
}
