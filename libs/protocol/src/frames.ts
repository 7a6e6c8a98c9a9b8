/** Wire protocol v1: every frame is one JSON text object with a `type`. */

import type { Preferences } from './preferences';

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
  /** Muted or in quiet hours when it was stored: deliver, but no toast; not counted as unread. */
  silent?: true;
}

/**
 * A retracted notification in a replay or resume: it keeps its seq, so the stream stays gapless, but
 * carries nothing else.
 */
export interface RetractedNotificationPayload {
  seq: number;
  id: string;
  retracted: true;
}

/** What a replayed seq carries: the notification, or only that it was retracted. */
export type StreamPayload = NotificationPayload | RetractedNotificationPayload;

export const isRetractedPayload = (p: StreamPayload): p is RetractedNotificationPayload =>
  'retracted' in p && p.retracted === true;

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
export interface RetractedNotificationFrame extends RetractedNotificationPayload {
  type: 'notification';
}
/** Notifications retracted by the backend: gone from the feed and from the unread count. */
export interface RetractedFrame {
  type: 'retracted';
  ids: string[];
  /** Unread count after the retraction (absent when a newer read change was already sent). */
  unread?: number;
  /** The user's newest seq when `unread` was counted. */
  asOfSeq?: number;
}
/** The user's preferences, after every change (from any device or the backend) and after `ready`. */
export interface PreferencesFrame extends Preferences {
  type: 'preferences';
  /** Bumped by every change: keep the highest (a device may hear one version twice). */
  version: number;
  ref?: string;
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
  | RetractedFrame
  | PreferencesFrame
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
/** Replaces the user's preferences; every device of the user gets the `preferences` frame. */
export interface SetPreferencesFrame extends Preferences {
  type: 'preferences';
  ref?: string;
}

export type ClientFrame =
  | AckFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | MarkReadFrame
  | HistoryRequestFrame
  | PingFrame
  | SetPreferencesFrame;

export type ServerFrameType = ServerFrame['type'];
export type ClientFrameType = ClientFrame['type'];

/** Typed map of server frames, for SDK event handlers and tests. */
export type ServerFrameMap = { [F in ServerFrame as F['type']]: F };

/** The `notification` frame's JSON, as gateways send it and ingest publishes it. */
export function encodeNotificationFrame(payload: StreamPayload): string {
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

/** The `preferences` frame's JSON, as gateways send it and ingest publishes it. */
export function encodePreferencesFrame(preferences: Preferences, version: number, ref?: string): string {
  const frame: PreferencesFrame = {
    type: 'preferences',
    mutedTopics: preferences.mutedTopics,
    quietHours: preferences.quietHours,
    version,
  };
  if (ref !== undefined) frame.ref = ref;
  return JSON.stringify(frame);
}

/** The `retracted` frame's JSON; the count only when given. */
export function encodeRetractedFrame(ids: string[], count?: { unread: number; asOfSeq: number }): string {
  const frame: RetractedFrame = { type: 'retracted', ids };
  if (count) {
    frame.unread = count.unread;
    frame.asOfSeq = count.asOfSeq;
  }
  return JSON.stringify(frame);
}

/** The `read` broadcast's JSON, as gateways and ingest publish it on notify.delivery (no `ref`). */
export function encodeReadFrame(change: { ids: string[]; unread: number; asOfSeq: number }): string {
  const frame: ReadFrame = { type: 'read', ids: change.ids, unread: change.unread, asOfSeq: change.asOfSeq };
  return JSON.stringify(frame);
}
