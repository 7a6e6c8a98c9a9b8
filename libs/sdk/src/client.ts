import {
  CloseCode,
  isRetractedPayload,
  type NotificationFrame,
  type Preferences,
  type PreferencesFrame,
  type ReadyFrame,
  type RetractedFrame,
  type RetractedNotificationFrame,
  type ServerFrame,
} from '@notify/protocol';
import { Connection } from './connection.js';
import { Cursor } from './cursor.js';
import { Emitter } from './emitter.js';
import { HistoryQuery, historyPages } from './history-query.js';
import { host, readJwtClaims } from './host.js';
import type { Link } from './link.js';
import { Requests } from './requests.js';
import { defaultStorage, loadDeviceId } from './storage.js';
import { Subscriptions, type SubscribeOptions } from './subscriptions.js';
import {
  NotifyError,
  type ChannelMessage,
  type ConnectionState,
  type HistoryOptions,
  type HistoryPage,
  type NotifyClientOptions,
  type NotifyEvents,
  type PreferencesInfo,
  type ReadyInfo,
  type UserNotification,
} from './types.js';
import { Unread } from './unread.js';

/** ids per `read` frame: 200 UUIDs keep a frame near 8 KB, well under the gateway's default 16 KiB. */
const READ_IDS_PER_FRAME = 200;
/** Retracted ids remembered, so a copy with content that arrives after its retraction is dropped. */
const RETRACTED_MAX = 1000;

/**
 * notify's WebSocket client (protocol v1), for browsers and Node.
 *
 * ```ts
 * const client = new NotifyClient({ url: 'wss://notify.example.com/v1/ws', token: fetchToken });
 * client.on('notification', (n) => showToast(n.title));
 * client.on('unread', (count) => setBadge(count));
 * await client.connect();
 * ```
 */
export class NotifyClient extends Emitter<NotifyEvents> {
  /** This installation's id, kept in storage: the server keeps one ack cursor per device. */
  readonly deviceId: string;

  // The parts, each with its own state; this class routes frames between them and the app.
  private readonly connection: Connection;
  private readonly cursor: Cursor;
  private readonly unreadState: Unread;
  private readonly requests: Requests;
  private readonly subscriptions: Subscriptions;
  private readonly onPageHide = (): void => this.cursor.flushAck();
  private preferencesValue: PreferencesInfo | null = null;
  private readonly retractedIds = new Set<string>();

  constructor(options: NotifyClientOptions) {
    super();
    if (!options || typeof options.url !== 'string' || !/^wss?:\/\//.test(options.url)) {
      throw new TypeError('NotifyClient: url must be a ws:// or wss:// URL');
    }
    if (typeof options.token !== 'string' && typeof options.token !== 'function') {
      throw new TypeError('NotifyClient: token must be a string or a function returning one');
    }
    const WebSocketImpl = options.WebSocket ?? host.WebSocket;
    if (!WebSocketImpl) {
      throw new TypeError(
        "NotifyClient: no global WebSocket here; pass one, e.g. { WebSocket } from the 'ws' package",
      );
    }
    const storage = options.storage ?? defaultStorage();
    const prefix = options.storagePrefix ?? 'notify';
    const deviceId = (this.deviceId = loadDeviceId(storage, prefix, options.deviceId));

    const link: Link = {
      isOpen: () => this.connection.ready !== null,
      isRunning: () => this.connection.running,
      send: (frame) => this.connection.send(frame),
      report: (error) => this.report(error),
      emit: (event, args) => this.emitSafe(event, args),
    };
    this.cursor = new Cursor(storage, prefix, options.autoAck ?? true, options.ackDelayMs ?? 100, link);
    this.unreadState = new Unread(link);
    this.requests = new Requests(link, options.requestTimeoutMs ?? 15_000);
    this.subscriptions = new Subscriptions(link, this.requests);
    this.connection = new Connection(options, WebSocketImpl, deviceId, link, {
      resumePoint: () => this.cursor.resumePoint(),
      frame: (data) => this.onFrame(data),
      tokenUser: (userId) => {
        if (userId !== this.cursor.userId) this.switchUser(userId);
      },
      ended: () => this.requests.dropLost(),
      stop: (error, closeCode, reason) => this.stop(error, closeCode, reason),
    });
    if (typeof options.token === 'string') this.switchUser(readJwtClaims(options.token).sub ?? null);
  }

  /** Connection state; every change is also a `state` event. */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /** The current connection's `ready` info (node, userId, …), or null while not connected. */
  get ready(): ReadyInfo | null {
    return this.connection.ready;
  }

  /** Unread notifications, kept current from `ready`, new notifications and `read` frames. */
  get unread(): number {
    return this.unreadState.count;
  }

  /** The user's preferences as last heard from the server, or null before any were (or when never set). */
  get preferences(): PreferencesInfo | null {
    return this.preferencesValue;
  }

  /**
   * Replaces the user's preferences (muted topics, quiet hours). Every connected device of the user,
   * this one included, then gets a `preferences` event. Queued while disconnected; invalid ones are
   * refused with an `error` event naming the field.
   */
  setPreferences(preferences: Preferences): void {
    this.requests.queue({
      type: 'preferences',
      mutedTopics: [...preferences.mutedTopics],
      quietHours: preferences.quietHours,
    });
  }

  /** Highest seq delivered to the app (the resume point), or null before the first. */
  get lastSeq(): number | null {
    return this.cursor.delivered;
  }

  /**
   * Starts connecting (and reconnecting, until `close()`). Resolves with the first `ready`; rejects
   * if the client stops for good before (4403, 1009, a token that cannot be refreshed, `close()`).
   */
  connect(): Promise<ReadyInfo> {
    if (!this.connection.running) {
      host.addEventListener?.('pagehide', this.onPageHide);
      this.connection.start();
    }
    return this.connection.waitReady();
  }

  /** Sends the pending ack, closes the connection and stops reconnecting. `connect()` starts again. */
  close(): void {
    if (!this.connection.running) return;
    this.cursor.flushAck();
    this.stop(null, CloseCode.Normal, 'client closed');
  }

  /**
   * Acks every notification up to `seq` (cumulative). Only needed with `autoAck: false`; acks are
   * coalesced and sent once connected. Unacked notifications are redelivered on the next connection.
   */
  ack(seq: number): void {
    this.cursor.ack(seq);
  }

  /**
   * Marks notifications read, by id or every one up to a seq. Every connected device of the user then
   * gets a `read` event with the new unread count. Queued while disconnected.
   */
  markRead(selector: readonly string[] | { upTo: number }): void {
    if (Array.isArray(selector)) {
      const ids = [...new Set(selector as readonly string[])];
      for (let i = 0; i < ids.length; i += READ_IDS_PER_FRAME) {
        this.requests.queue({ type: 'read', ids: ids.slice(i, i + READ_IDS_PER_FRAME) });
      }
      return;
    }
    const upTo = (selector as { upTo: number }).upTo;
    if (!Number.isSafeInteger(upTo) || upTo < 0) throw new TypeError('markRead: upTo must be a seq');
    this.requests.queue({ type: 'read', upTo });
  }

  /** Marks read every notification up to the newest this client knows of. */
  markAllRead(): void {
    const newest = Math.max(
      this.connection.ready?.lastSeq ?? 0,
      this.cursor.delivered ?? 0,
      this.unreadState.asOf,
    );
    this.markRead({ upTo: newest });
  }

  /**
   * The inbox, newest first. `await client.history({ limit: 20 })` gives one page;
   * `for await (const n of client.history())` walks every page, following `nextBefore`.
   */
  history(options: HistoryOptions = {}): HistoryQuery {
    return new HistoryQuery(this, options);
  }

  /** Every page of the inbox from `options.before` (newest first) down to the oldest. */
  historyPages(options: HistoryOptions = {}): AsyncGenerator<HistoryPage, void, undefined> {
    return historyPages((o) => this.historyPage(o), options);
  }

  /** One inbox page. Waits for a connection if there is none (up to `requestTimeoutMs`). */
  historyPage(options: HistoryOptions = {}): Promise<HistoryPage> {
    if (!this.connection.running) {
      return Promise.reject(new NotifyError('aborted', 'history: the client is not connected'));
    }
    return this.requests.history(options);
  }

  /**
   * Subscribes to a channel; returns the function that unsubscribes this handler. The subscription
   * survives reconnects: it is renewed with `since` = the last offset received, so messages sent
   * meanwhile are replayed (or `onSubscribed` / the `subscribed` event says `recovered: false`).
   */
  subscribe(
    channel: string,
    onMessage: (message: ChannelMessage) => void,
    options: SubscribeOptions = {},
  ): () => void {
    return this.subscriptions.add(channel, onMessage, options);
  }

  /** Stops for good: `close()` (error null) or a terminal condition. */
  private stop(error: NotifyError | null, closeCode: number, reason: string): void {
    this.connection.halt();
    host.removeEventListener?.('pagehide', this.onPageHide);
    this.cursor.stop();
    const why = (): NotifyError => error ?? new NotifyError('aborted', 'the client was closed');
    this.requests.abort(why);
    if (error) this.report(error);
    this.connection.closed(why, closeCode, reason);
  }

  /** A client serves one user at a time: another user's resume point and unread state start over. */
  private switchUser(userId: string | null): void {
    this.cursor.switchUser(userId);
    this.unreadState.forget();
  }

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return this.report(new NotifyError('protocol', 'the server sent a frame that is not JSON'));
    }
    if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') return;
    this.connection.heard();
    switch (frame.type) {
      case 'ready':
        return this.onReady(frame);
      case 'notification':
        return this.onNotification(frame);
      case 'read':
        return this.unreadState.onRead(frame);
      case 'retracted':
        return this.onRetracted(frame);
      case 'preferences':
        return this.onPreferences(frame);
      case 'subscribed':
        this.requests.settle(frame.ref);
        return this.subscriptions.onSubscribed(frame);
      case 'unsubscribed':
        return this.requests.settle(frame.ref);
      case 'message':
        return this.subscriptions.onMessage(frame);
      case 'history':
        return this.requests.onHistory(frame);
      case 'error':
        return this.onError(frame.code, frame.message, frame.ref);
      case 'reconnect':
        return this.connection.drain(frame.afterMs);
      default:
        return; // pong, and frame types of later protocol versions
    }
  }

  private onReady(frame: ReadyFrame): void {
    if (frame.userId !== this.cursor.userId) this.switchUser(frame.userId);
    this.cursor.ready(frame.lastSeq);
    this.unreadState.reset(frame.unread, frame.lastSeq);
    this.connection.opened(frame);
    this.unreadState.update();
    // As it is now: a `state` listener may have closed the client already.
    this.emitSafe('ready', [this.connection.ready as ReadyInfo]);
    this.connection.settleWaiters();
    if (!this.connection.ready) return; // a listener closed the client

    this.subscriptions.renew();
    this.requests.resend();
    this.cursor.persist();
    this.cursor.scheduleAck();
    this.connection.watch();
  }

  private onNotification(frame: NotificationFrame | RetractedNotificationFrame): void {
    if (!this.connection.ready) return;
    if (!this.cursor.accept(frame.seq)) return; // redelivered: already handled
    if (isRetractedPayload(frame)) {
      // A retracted seq in a replay: nothing to show, but it counts as delivered (and is acked).
      this.forgetRetracted([frame.id]);
      this.emitSafe('retracted', [{ ids: [frame.id], unread: this.unreadState.count }]);
      return this.cursor.afterHandlers(frame.seq, []);
    }
    if (this.retractedIds.has(frame.id)) return this.cursor.afterHandlers(frame.seq, []);
    this.unreadState.seen(frame);
    const { type: _type, ...notification } = frame;
    const results = this.emitSafe('notification', [notification as UserNotification]);
    this.cursor.afterHandlers(frame.seq, results);
  }

  private onRetracted(frame: RetractedFrame): void {
    const ids = this.unreadState.onRetracted(frame);
    this.forgetRetracted(ids);
    this.emitSafe('retracted', [{ ids, unread: this.unreadState.count }]);
  }

  private forgetRetracted(ids: readonly string[]): void {
    for (const id of ids) this.retractedIds.add(id);
    for (const id of this.retractedIds) {
      if (this.retractedIds.size <= RETRACTED_MAX) break;
      this.retractedIds.delete(id);
    }
  }

  private onPreferences(frame: PreferencesFrame): void {
    this.requests.settle(frame.ref);
    // Versions only grow; a device may hear the same one twice (its own change and the broadcast).
    if (this.preferencesValue && frame.version <= this.preferencesValue.version) return;
    const { type: _type, ref: _ref, ...info } = frame;
    this.preferencesValue = info;
    this.emitSafe('preferences', [info]);
  }

  private onError(code: NotifyError['code'], message: string, ref: string | undefined): void {
    const p = this.requests.take(ref);
    if (p?.kind === 'history') return this.requests.fail(p, new NotifyError(code, message));
    if (p?.kind === 'unsubscribe') return; // not subscribed (any more) on the server: nothing to undo
    if (p?.kind === 'subscribe') return this.subscriptions.refused(p.channel, code, message);
    this.report(new NotifyError(code, message));
  }

  private emitSafe<K extends keyof NotifyEvents>(event: K, args: Parameters<NotifyEvents[K]>): unknown[] {
    return this.emitAll(event, args, (err) =>
      event === 'error'
        ? host.console?.warn('notify: an error listener threw', err)
        : this.report(new NotifyError('handler', `a ${String(event)} listener threw`, { cause: err })),
    );
  }

  private report(error: NotifyError): void {
    if (this.hasListeners('error')) this.emitSafe('error', [error]);
    else host.console?.warn(`notify: ${error.code}: ${error.message}`);
  }
}
