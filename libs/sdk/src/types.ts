import type { ErrorCode, NotificationPayload, Preferences, ReadyFrame } from '@notify/protocol';
import type { BackoffOptions } from './backoff.js';
import type { WebSocketConstructor } from './host.js';
import type { KeyValueStorage } from './storage.js';

/** A user notification as the app receives it (the `notification` frame without `type`). */
export type UserNotification = NotificationPayload;

/** A channel message (the `message` frame without `type`). */
export interface ChannelMessage {
  channel: string;
  offset: number;
  id: string;
  data: unknown;
  createdAt: string;
}

/**
 * `connecting`: first connection under way. `open`: connected and `ready`. `reconnecting`: the
 * connection was lost and the client is waiting to retry or retrying. `closed`: stopped, by `close()`
 * or by a close code that forbids retrying (4403, 1009, 4000–4099, or 4401 with a fixed token).
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** Close code of the connection that ended (1006 when it failed without one). */
  closeCode?: number;
  reason?: string;
  /** When a retry is scheduled: in how many ms. */
  retryInMs?: number;
  /** Failed attempts in a row before this retry (0 after a connection that had been up a while). */
  attempt?: number;
  /** The node asked to reconnect (drain): `retryInMs` is its `afterMs`. */
  drain?: boolean;
  /** `open`: the gateway node serving this connection. */
  node?: string;
}

/** The `ready` frame: who the client is and where it is connected. */
export type ReadyInfo = Omit<ReadyFrame, 'type'>;

export interface ReadChange {
  /** Notifications that became read (on any device). */
  ids: string[];
  /** The unread count after it, including unread notifications newer than the server's count. */
  unread: number;
}

export interface RetractionChange {
  /** Notifications the backend retracted: remove them from the feed. */
  ids: string[];
  /** The unread count after it. */
  unread: number;
}

/** The user's preferences as the server holds them; `version` 0 means never set. */
export interface PreferencesInfo extends Preferences {
  version: number;
}

export interface SubscriptionStatus {
  channel: string;
  /** The channel's newest offset when the (re)subscription was made. */
  offset: number;
  /**
   * `false` when messages were missed and are no longer in the channel's history (the window was
   * exceeded while disconnected): refetch whatever the channel describes.
   */
  recovered: boolean;
}

export interface HistoryOptions {
  /** Only notifications with a lower seq (the previous page's `nextBefore`). */
  before?: number;
  /** Page size, 1–100 (default 20). */
  limit?: number;
  unreadOnly?: boolean;
}

export interface HistoryPage {
  /** Newest first. */
  items: UserNotification[];
  /** `before` for the next page, or null on the last one. */
  nextBefore: number | null;
}

export type NotifyErrorCode =
  | ErrorCode
  /** The token function failed, or a fixed token expired (4401): the app must supply a new one. */
  | 'token'
  /** The server closed with a code that forbids retrying (4403 forbidden, 1009 frame too big, 4000–4099). */
  | 'closed'
  /** A request (history) got no answer in `requestTimeoutMs`, or the client was closed first. */
  | 'timeout'
  | 'aborted'
  /** An event handler of the app threw (the notification still counts as handled and is acked). */
  | 'handler'
  /** The server sent something that is not a protocol v1 frame. */
  | 'protocol';

export class NotifyError extends Error {
  constructor(
    readonly code: NotifyErrorCode,
    message: string,
    readonly details: { closeCode?: number; channel?: string; cause?: unknown } = {},
  ) {
    super(message);
    this.name = 'NotifyError';
  }
}

export interface NotifyEvents {
  /**
   * A new notification, in seq order, each exactly once. With `autoAck` (default) it is acked once
   * every listener has returned, or once the promises they returned have settled.
   */
  notification: (notification: UserNotification) => void | Promise<void>;
  /** A message on any subscribed channel (the subscription's own handler gets it too). */
  message: (message: ChannelMessage) => void;
  /** Read state changed on some device of the user. */
  read: (change: ReadChange) => void;
  /**
   * The backend retracted notifications (live, or a retracted seq in a replay): remove them from the
   * feed. A retracted notification is never emitted as `notification`.
   */
  retracted: (change: RetractionChange) => void;
  /** The user's preferences, after `ready` (when ever set) and after every change on any device. */
  preferences: (preferences: PreferencesInfo) => void;
  /** The unread count changed. */
  unread: (count: number) => void;
  state: (change: StateChange) => void;
  ready: (info: ReadyInfo) => void;
  /** A channel (re)subscription took effect; check `recovered`. */
  subscribed: (status: SubscriptionStatus) => void;
  error: (error: NotifyError) => void;
}

export interface NotifyClientOptions {
  /** The gateway (or load balancer) endpoint, e.g. `wss://notify.example.com/v1/ws`. */
  url: string;
  /**
   * The user's JWT, or a function that returns a fresh one: called for the first connection, after
   * the server closed with 4401 (token expired), before reconnecting with a token about to expire,
   * and after a connection attempt failed before it opened (it may have been refused with 401).
   */
  token: string | (() => string | Promise<string>);
  /** WebSocket implementation: the global one by default; in Node pass `ws`'s `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Where the device id and last seq live: `localStorage` in browsers, else memory. */
  storage?: KeyValueStorage;
  /** Prefix of the storage keys (default `notify`). */
  storagePrefix?: string;
  /** Use this device id instead of the stored or generated one (`[A-Za-z0-9_-]{1,64}`). */
  deviceId?: string;
  /** Ack automatically after the handlers returned (default true); else call `ack(seq)`. */
  autoAck?: boolean;
  /** Acks are cumulative and coalesced: at most one per this many ms (default 100). */
  ackDelayMs?: number;
  /** Reconnect backoff (full jitter): base 500 ms, cap 30 s by default. */
  backoff?: BackoffOptions;
  /** A connection that stayed up this long resets the backoff (default 5000 ms). */
  stableAfterMs?: number;
  /** No `ready` within this long after starting to connect: give up on that attempt (default 15 s). */
  connectTimeoutMs?: number;
  /** History requests fail after this long without an answer (default 15 s). */
  requestTimeoutMs?: number;
  /** Send a `ping` this often and drop a connection that answered nothing since the last one (default 30 s; 0 = off). */
  pingIntervalMs?: number;
}
