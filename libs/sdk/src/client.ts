import {
  closeAction,
  CloseCode,
  DEVICE_ID_PATTERN,
  HISTORY_PAGE_MAX,
  isValidChannelName,
  type ClientFrame,
  type HistoryFrame,
  type HistoryRequestFrame,
  type MessageFrame,
  type NotificationFrame,
  type ReadFrame,
  type ReadyFrame,
  type ServerFrame,
  type SubscribedFrame,
} from '@notify/protocol';
import { backoffDelay, MIN_RETRY_MS } from './backoff.js';
import { Emitter } from './emitter.js';
import {
  cancel,
  host,
  later,
  randomDeviceId,
  readJwtClaims,
  type Timer,
  type WebSocketConstructor,
  type WebSocketLike,
} from './host.js';
import { defaultStorage, readItem, writeItem, type KeyValueStorage } from './storage.js';
import {
  NotifyError,
  type ChannelMessage,
  type ConnectionState,
  type HistoryOptions,
  type HistoryPage,
  type NotifyClientOptions,
  type NotifyEvents,
  type ReadyInfo,
  type StateChange,
  type SubscriptionStatus,
  type UserNotification,
} from './types.js';

/** ids per `read` frame: 200 UUIDs keep a frame near 8 KB, well under the gateway's default 16 KiB. */
const READ_IDS_PER_FRAME = 200;
/** Frames kept while disconnected (mark-read requests); the oldest go first past this. */
const OUTBOX_MAX = 1000;
/** A token this close to its `exp` is refreshed before connecting with it. */
const TOKEN_MARGIN_MS = 10_000;
/** Unread notifications tracked by seq between two read frames; older ones fold into the count. */
const FRESH_MAX = 10_000;
/** Pages a history iteration may follow at most: bounded even if a server misbehaves. */
const HISTORY_MAX_PAGES = 100_000;
/**
 * Close code the client reports when it gives up on a connection itself (no ready in time, no pong).
 * Never sent on the wire; from the reconnect range of `closeAction` (4100–4999), so it is retried.
 */
export const CLIENT_GAVE_UP = 4100;

export interface SubscribeOptions {
  /** Resume after this offset (messages after it still in history are replayed first). */
  since?: number;
  /** Every (re)subscription: `recovered: false` means messages were missed for good. */
  onSubscribed?: (status: SubscriptionStatus) => void;
  /** The subscription was refused (e.g. `forbidden`): it is dropped. */
  onError?: (error: NotifyError) => void;
}

interface SubscriptionEntry {
  onMessage: (message: ChannelMessage) => void;
  options: SubscribeOptions;
}

interface Subscription {
  channel: string;
  /** The highest offset delivered (or skipped past after `recovered: false`); null before the first. */
  offset: number | null;
  entries: Set<SubscriptionEntry>;
}

type Pending =
  | {
      kind: 'history';
      frame: HistoryRequestFrame;
      resolve: (page: HistoryPage) => void;
      reject: (err: NotifyError) => void;
      timer: Timer;
    }
  | { kind: 'subscribe' | 'unsubscribe'; channel: string };

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

  private readonly url: string;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly storage: KeyValueStorage;
  private readonly prefix: string;
  private readonly autoAck: boolean;
  private readonly ackDelayMs: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly stableAfterMs: number;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly pingIntervalMs: number;

  private stateValue: ConnectionState = 'closed';
  /** Between connect() and close() (or a terminal close code). */
  private running = false;
  private everReady = false;
  /** Incremented per socket: events of an older socket are ignored. */
  private generation = 0;
  private ws: WebSocketLike | null = null;
  private info: ReadyInfo | null = null;
  private readyAt = 0;
  private attempt = 0;
  private retryTimer: Timer | null = null;
  private connectTimer: Timer | null = null;
  private pingTimer: Timer | null = null;
  private awaitingPong = false;
  /** `afterMs` of a `reconnect` frame (drain) received on the current connection. */
  private drainAfterMs: number | null = null;
  private readyWaiters: { resolve: (info: ReadyInfo) => void; reject: (err: NotifyError) => void }[] = [];

  private token: string | null = null;
  private tokenStale = false;

  private userId: string | null = null;
  /** Highest seq handed to the app (duplicates at or below it are dropped). */
  private delivered: number | null = null;
  /** A connection made without a resume point starts at `ready.lastSeq`: resume there next time. */
  private floor: number | null = null;
  /** Highest seq the app finished with (autoAck) or acked itself. */
  private processed = 0;
  /** Seqs whose handlers returned promises still pending, in order, for in-order acks. */
  private inflight: { seq: number; done: boolean }[] = [];
  /** The `since` this connection was opened with. */
  private sentSince: number | null = null;
  /** The highest seq this connection may ack (what it delivered, or its resume point). */
  private ackCeiling = 0;
  private ackSent = 0;
  private ackTimer: Timer | null = null;

  /** Unread count = server count as of `asOf` + unread notifications seen since with a higher seq. */
  private baseUnread = 0;
  private asOf = 0;
  private readonly fresh = new Map<number, string>();
  private unreadValue = 0;

  private readonly subscriptions = new Map<string, Subscription>();
  private readonly pending = new Map<string, Pending>();
  private nextRef = 0;
  private outbox: ClientFrame[] = [];
  private readonly onPageHide = (): void => this.flushAck();

  constructor(private readonly options: NotifyClientOptions) {
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
    this.url = options.url;
    this.WebSocketImpl = WebSocketImpl;
    this.storage = options.storage ?? defaultStorage();
    this.prefix = options.storagePrefix ?? 'notify';
    this.autoAck = options.autoAck ?? true;
    this.ackDelayMs = options.ackDelayMs ?? 100;
    this.baseMs = options.backoff?.baseMs ?? 500;
    this.capMs = options.backoff?.capMs ?? 30_000;
    this.stableAfterMs = options.stableAfterMs ?? 5_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.pingIntervalMs = options.pingIntervalMs ?? 30_000;

    const deviceKey = `${this.prefix}.device`;
    let deviceId = options.deviceId ?? readItem(this.storage, deviceKey);
    if (options.deviceId !== undefined && !DEVICE_ID_PATTERN.test(options.deviceId)) {
      throw new TypeError('NotifyClient: deviceId must be 1-64 characters of A-Z a-z 0-9 _ -');
    }
    if (!deviceId || !DEVICE_ID_PATTERN.test(deviceId)) {
      deviceId = randomDeviceId();
      writeItem(this.storage, deviceKey, deviceId);
    }
    this.deviceId = deviceId;
    if (typeof options.token === 'string') this.switchUser(readJwtClaims(options.token).sub ?? null);
  }

  /** Connection state; every change is also a `state` event. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The current connection's `ready` info (node, userId, …), or null while not connected. */
  get ready(): ReadyInfo | null {
    return this.info;
  }

  /** Unread notifications, kept current from `ready`, new notifications and `read` frames. */
  get unread(): number {
    return this.unreadValue;
  }

  /** Highest seq delivered to the app (the resume point), or null before the first. */
  get lastSeq(): number | null {
    return this.delivered;
  }

  /**
   * Starts connecting (and reconnecting, until `close()`). Resolves with the first `ready`; rejects
   * if the client stops for good before (4403, 1009, a token that cannot be refreshed, `close()`).
   */
  connect(): Promise<ReadyInfo> {
    if (!this.running) {
      this.running = true;
      this.attempt = 0;
      host.addEventListener?.('pagehide', this.onPageHide);
      void this.openSocket();
    }
    if (this.info) return Promise.resolve(this.info);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Sends the pending ack, closes the connection and stops reconnecting. `connect()` starts again. */
  close(): void {
    if (!this.running) return;
    this.flushAck();
    this.stop(null, CloseCode.Normal, 'client closed');
  }

  /**
   * Acks every notification up to `seq` (cumulative). Only needed with `autoAck: false`; acks are
   * coalesced and sent once connected. Unacked notifications are redelivered on the next connection.
   */
  ack(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new TypeError('ack: seq must be an integer ≥ 0');
    const upTo = Math.min(seq, this.delivered ?? 0);
    if (upTo <= this.processed) return;
    this.processed = upTo;
    this.scheduleAck();
  }

  /**
   * Marks notifications read, by id or every one up to a seq. Every connected device of the user then
   * gets a `read` event with the new unread count. Queued while disconnected.
   */
  markRead(selector: readonly string[] | { upTo: number }): void {
    if (Array.isArray(selector)) {
      const ids = [...new Set(selector as readonly string[])];
      for (let i = 0; i < ids.length; i += READ_IDS_PER_FRAME) {
        this.sendOrQueue({ type: 'read', ids: ids.slice(i, i + READ_IDS_PER_FRAME) });
      }
      return;
    }
    const upTo = (selector as { upTo: number }).upTo;
    if (!Number.isSafeInteger(upTo) || upTo < 0) throw new TypeError('markRead: upTo must be a seq');
    this.sendOrQueue({ type: 'read', upTo });
  }

  /** Marks read every notification up to the newest this client knows of. */
  markAllRead(): void {
    this.markRead({ upTo: Math.max(this.info?.lastSeq ?? 0, this.delivered ?? 0, this.asOf) });
  }

  /**
   * The inbox, newest first. `await client.history({ limit: 20 })` gives one page;
   * `for await (const n of client.history())` walks every page, following `nextBefore`.
   */
  history(options: HistoryOptions = {}): HistoryQuery {
    return new HistoryQuery(this, options);
  }

  /** Every page of the inbox from `options.before` (newest first) down to the oldest. */
  async *historyPages(options: HistoryOptions = {}): AsyncGenerator<HistoryPage, void, undefined> {
    let before = options.before;
    for (let i = 0; i < HISTORY_MAX_PAGES; i++) {
      const page = await this.historyPage({ ...options, before });
      yield page;
      if (page.nextBefore === null || page.items.length === 0) return;
      if (before !== undefined && page.nextBefore >= before) return; // never loop on the same page
      before = page.nextBefore;
    }
  }

  /** One inbox page. Waits for a connection if there is none (up to `requestTimeoutMs`). */
  historyPage(options: HistoryOptions = {}): Promise<HistoryPage> {
    if (!this.running) {
      return Promise.reject(new NotifyError('aborted', 'history: the client is not connected'));
    }
    const frame: HistoryRequestFrame = { type: 'history', ref: this.newRef('h') };
    if (options.before !== undefined) frame.before = options.before;
    if (options.limit !== undefined) frame.limit = Math.min(Math.max(1, options.limit), HISTORY_PAGE_MAX);
    if (options.unreadOnly) frame.unreadOnly = true;
    const ref = frame.ref as string;
    return new Promise((resolve, reject) => {
      const timer = later(() => {
        this.pending.delete(ref);
        reject(new NotifyError('timeout', `history: no answer within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(ref, { kind: 'history', frame, resolve, reject, timer });
      if (this.info) this.send(frame);
    });
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
    if (!isValidChannelName(channel)) {
      throw new TypeError(`subscribe: invalid channel name ${JSON.stringify(channel)}`);
    }
    const entry: SubscriptionEntry = { onMessage, options };
    let sub = this.subscriptions.get(channel);
    if (!sub) {
      sub = { channel, offset: options.since ?? null, entries: new Set() };
      this.subscriptions.set(channel, sub);
      if (this.info) this.sendSubscribe(sub);
    }
    sub.entries.add(entry);
    const owner = sub;
    return () => {
      if (!owner.entries.delete(entry) || owner.entries.size > 0) return;
      if (this.subscriptions.get(channel) !== owner) return;
      this.subscriptions.delete(channel);
      if (this.info) {
        this.send({ type: 'unsubscribe', channel, ref: this.track('u', { kind: 'unsubscribe', channel }) });
      }
    };
  }

  // ---- connection ---------------------------------------------------------------------------

  private async openSocket(): Promise<void> {
    this.retryTimer = cancel(this.retryTimer);
    const generation = ++this.generation;
    this.setState(this.everReady ? 'reconnecting' : 'connecting', { attempt: this.attempt });
    let token: string;
    try {
      token = await this.currentToken();
    } catch (err) {
      if (generation !== this.generation || !this.running) return;
      const error =
        err instanceof NotifyError ? err : new NotifyError('token', 'token function failed', { cause: err });
      if (typeof this.options.token === 'string')
        return this.stop(error, CloseCode.TokenExpired, error.message);
      this.report(error);
      return this.retry(backoffDelay(this.attempt++, this.baseMs, this.capMs), {
        closeCode: CloseCode.Abnormal,
      });
    }
    if (generation !== this.generation || !this.running) return;

    const since = this.delivered ?? this.floor;
    this.sentSince = since;
    let query = `device=${encodeURIComponent(this.deviceId)}&token=${encodeURIComponent(token)}`;
    if (since !== null) query += `&since=${since}`;
    const url = `${this.url}${this.url.includes('?') ? '&' : '?'}${query}`;
    let ws: WebSocketLike;
    try {
      ws = new this.WebSocketImpl(url);
    } catch (err) {
      this.report(new NotifyError('protocol', 'could not create the WebSocket', { cause: err }));
      return this.retry(backoffDelay(this.attempt++, this.baseMs, this.capMs), {
        closeCode: CloseCode.Abnormal,
      });
    }
    this.ws = ws;
    this.drainAfterMs = null;
    ws.onmessage = ((event: { data?: unknown }) => {
      if (generation === this.generation) this.onFrame(event.data);
    }) as WebSocketLike['onmessage'];
    ws.onclose = ((event: { code?: number; reason?: string }) => {
      if (generation === this.generation) this.onClose(event.code ?? CloseCode.Abnormal, event.reason ?? '');
    }) as WebSocketLike['onclose'];
    ws.onerror = (() => undefined) as WebSocketLike['onerror'];
    this.connectTimer = later(() => {
      if (generation === this.generation && !this.info) this.giveUp('no ready frame in time');
    }, this.connectTimeoutMs);
  }

  private async currentToken(): Promise<string> {
    const source = this.options.token;
    if (typeof source === 'string') {
      const exp = readJwtClaims(source).exp;
      if (exp !== undefined && exp * 1000 <= Date.now()) {
        throw new NotifyError('token', 'the token expired and no token function was given to renew it', {
          closeCode: CloseCode.TokenExpired,
        });
      }
      return source;
    }
    const exp = this.token === null ? undefined : readJwtClaims(this.token).exp;
    const expiring = exp !== undefined && exp * 1000 - TOKEN_MARGIN_MS <= Date.now();
    if (this.token === null || this.tokenStale || expiring) {
      const token = await source();
      if (typeof token !== 'string' || token.length === 0) {
        throw new NotifyError('token', 'the token function returned no token');
      }
      this.token = token;
      this.tokenStale = false;
      const sub = readJwtClaims(token).sub;
      if (sub !== undefined && sub !== this.userId) this.switchUser(sub);
    }
    return this.token;
  }

  /** Drops the current socket as if it had closed with CLIENT_GAVE_UP (dead or silent connection). */
  private giveUp(reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    this.detach(ws);
    this.onClose(CLIENT_GAVE_UP, reason);
  }

  private detach(ws: WebSocketLike): void {
    ws.onmessage = ws.onclose = ws.onopen = null;
    ws.onerror = (() => undefined) as WebSocketLike['onerror'];
    try {
      ws.close(CloseCode.Normal, 'client closed');
    } catch {
      // already closed
    }
  }

  /** Common end of a connection; then retry, or stop for good on codes that forbid retrying. */
  private onClose(code: number, reason: string): void {
    const wasReady = this.info !== null;
    const upFor = wasReady ? Date.now() - this.readyAt : 0;
    const drainAfterMs = this.drainAfterMs;
    this.endConnection();
    if (!this.running) return;

    const action = closeAction(code);
    if (action === 'stop') {
      return this.stop(
        new NotifyError('closed', `the server closed the connection: ${closeWhy(code)}`, { closeCode: code }),
        code,
        reason,
      );
    }
    if (action === 'refresh-token') {
      if (typeof this.options.token === 'string') {
        return this.stop(
          new NotifyError('token', 'the token expired and no token function was given to renew it', {
            closeCode: code,
          }),
          code,
          reason,
        );
      }
      this.tokenStale = true;
    } else if (!wasReady) {
      // Refused before ready: maybe HTTP 401 at the upgrade (browsers cannot tell). Ask for a new token.
      this.tokenStale = true;
    }
    if (wasReady && upFor >= this.stableAfterMs) this.attempt = 0;
    if (drainAfterMs !== null) {
      return this.retry(Math.max(MIN_RETRY_MS, drainAfterMs), { closeCode: code, reason, drain: true });
    }
    const delay =
      action === 'refresh-token' && wasReady
        ? backoffDelay(0, this.baseMs, this.capMs)
        : backoffDelay(this.attempt++, this.baseMs, this.capMs);
    this.retry(delay, { closeCode: code, reason });
  }

  private endConnection(): void {
    this.generation++;
    this.ws = null;
    this.info = null;
    this.drainAfterMs = null;
    this.awaitingPong = false;
    this.connectTimer = cancel(this.connectTimer);
    this.pingTimer = cancel(this.pingTimer);
    // Requests in flight were lost with the socket; history requests are sent again on the next ready.
    for (const [ref, p] of this.pending) if (p.kind !== 'history') this.pending.delete(ref);
  }

  private retry(delayMs: number, change: Partial<StateChange>): void {
    this.retryTimer = cancel(this.retryTimer);
    this.setState(
      this.everReady ? 'reconnecting' : 'connecting',
      {
        ...change,
        retryInMs: delayMs,
        attempt: this.attempt,
      },
      true,
    );
    this.retryTimer = later(() => {
      this.retryTimer = null;
      if (this.running) void this.openSocket();
    }, delayMs);
  }

  /** Stops for good: `close()` (error null) or a terminal condition. */
  private stop(error: NotifyError | null, closeCode: number, reason: string): void {
    this.running = false;
    host.removeEventListener?.('pagehide', this.onPageHide);
    this.retryTimer = cancel(this.retryTimer);
    this.ackTimer = cancel(this.ackTimer);
    this.persist();
    const ws = this.ws;
    this.endConnection();
    if (ws) this.detach(ws);
    for (const [ref, p] of this.pending) {
      if (p.kind === 'history') {
        cancel(p.timer);
        p.reject(error ?? new NotifyError('aborted', 'the client was closed'));
      }
      this.pending.delete(ref);
    }
    this.outbox = [];
    if (error) this.report(error);
    const waiters = this.readyWaiters.splice(0);
    for (const w of waiters) w.reject(error ?? new NotifyError('aborted', 'the client was closed'));
    this.setState('closed', { closeCode, reason });
  }

  private setState(state: ConnectionState, change: Partial<StateChange> = {}, always = false): void {
    const previous = this.stateValue;
    if (previous === state && !always) return;
    this.stateValue = state;
    this.emitSafe('state', [{ ...change, state, previous }]);
  }

  // ---- frames -------------------------------------------------------------------------------

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      return this.report(new NotifyError('protocol', 'the server sent a frame that is not JSON'));
    }
    if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') return;
    this.awaitingPong = false;
    switch (frame.type) {
      case 'ready':
        return this.onReady(frame);
      case 'notification':
        return this.onNotification(frame);
      case 'read':
        return this.onRead(frame);
      case 'subscribed':
        return this.onSubscribed(frame);
      case 'unsubscribed':
        if (frame.ref) this.pending.delete(frame.ref);
        return;
      case 'message':
        return this.onMessage(frame);
      case 'history':
        return this.onHistory(frame);
      case 'error':
        return this.onError(frame.code, frame.message, frame.ref);
      case 'reconnect':
        this.drainAfterMs = Math.max(0, Math.min(Number(frame.afterMs) || 0, 5 * 60_000));
        return;
      default:
        return; // pong, and frame types of later protocol versions
    }
  }

  private onReady(frame: ReadyFrame): void {
    this.connectTimer = cancel(this.connectTimer);
    if (frame.userId !== this.userId) this.switchUser(frame.userId);
    if (this.delivered !== null && frame.lastSeq < this.delivered) {
      // The server's stream is behind what this device saw (a database was reset): follow the server.
      this.delivered = this.processed = frame.lastSeq;
      this.inflight = [];
      this.persist(true);
    }
    if (this.sentSince === null && this.delivered === null) this.floor = frame.lastSeq;
    // Acks up to the resume point are allowed; beyond it, only what this connection delivered.
    this.ackCeiling = this.sentSince === null ? 0 : Math.min(this.sentSince, frame.lastSeq);
    this.ackSent = 0;
    this.baseUnread = frame.unread;
    this.asOf = frame.lastSeq;
    this.fresh.clear();
    this.info = {
      userId: frame.userId,
      deviceId: frame.deviceId,
      connectionId: frame.connectionId,
      node: frame.node,
      lastSeq: frame.lastSeq,
      unread: frame.unread,
    };
    this.readyAt = Date.now();
    this.everReady = true;
    this.setState('open', { node: frame.node });
    this.updateUnread();
    this.emitSafe('ready', [this.info]);
    const waiters = this.readyWaiters.splice(0);
    for (const w of waiters) w.resolve(this.info);
    if (!this.info) return; // a listener closed the client

    for (const sub of this.subscriptions.values()) this.sendSubscribe(sub);
    for (const p of this.pending.values()) if (p.kind === 'history') this.send(p.frame);
    for (const frame of this.outbox.splice(0)) this.send(frame);
    this.persist();
    this.scheduleAck();
    this.schedulePing();
  }

  private onNotification(frame: NotificationFrame): void {
    if (!this.info) return;
    if (frame.seq > this.ackCeiling) this.ackCeiling = frame.seq;
    if (this.delivered !== null && frame.seq <= this.delivered) return; // redelivered: already handled
    this.delivered = frame.seq;
    if (frame.readAt === null && frame.seq > this.asOf) {
      this.fresh.set(frame.seq, frame.id);
      if (this.fresh.size > FRESH_MAX) {
        // Exact still: the next read frame's count covers it (its asOfSeq is above this seq).
        this.fresh.delete(this.fresh.keys().next().value as number);
        this.baseUnread++;
      }
      this.updateUnread();
    }
    const { type: _type, ...notification } = frame;
    const results = this.emitSafe('notification', [notification as UserNotification]);
    if (!this.autoAck) return;
    const promises = results.filter(
      (r): r is PromiseLike<unknown> => typeof (r as PromiseLike<unknown> | null)?.then === 'function',
    );
    if (promises.length === 0 && this.inflight.length === 0) return this.handled(frame.seq);
    const entry = { seq: frame.seq, done: promises.length === 0 };
    this.inflight.push(entry);
    if (entry.done) return this.drainInflight();
    void Promise.allSettled(promises).then((settled) => {
      for (const s of settled) {
        if (s.status === 'rejected')
          this.report(new NotifyError('handler', 'a notification handler failed', { cause: s.reason }));
      }
      entry.done = true;
      this.drainInflight();
    });
  }

  private drainInflight(): void {
    let seq = 0;
    while (this.inflight.length > 0 && this.inflight[0].done)
      seq = (this.inflight.shift() as { seq: number }).seq;
    if (seq > 0) this.handled(seq);
  }

  private handled(seq: number): void {
    if (seq <= this.processed) return;
    this.processed = seq;
    this.scheduleAck();
  }

  private onRead(frame: ReadFrame): void {
    const ids = Array.isArray(frame.ids) ? frame.ids : [];
    if (ids.length > 0) {
      const read = new Set(ids);
      for (const [seq, id] of this.fresh) if (read.has(id)) this.fresh.delete(seq);
    }
    if (typeof frame.unread === 'number') {
      this.baseUnread = frame.unread;
      this.asOf = typeof frame.asOfSeq === 'number' ? frame.asOfSeq : this.asOf;
      for (const seq of this.fresh.keys()) if (seq <= this.asOf) this.fresh.delete(seq);
    }
    this.updateUnread();
    this.emitSafe('read', [{ ids, unread: this.unreadValue }]);
  }

  private updateUnread(): void {
    const unread = Math.max(0, this.baseUnread + this.fresh.size);
    if (unread === this.unreadValue) return;
    this.unreadValue = unread;
    this.emitSafe('unread', [unread]);
  }

  private onSubscribed(frame: SubscribedFrame): void {
    if (frame.ref) this.pending.delete(frame.ref);
    const sub = this.subscriptions.get(frame.channel);
    if (!sub) return;
    const recovered = frame.recovered !== false;
    // Without a resume point, live starts after `offset`; when history no longer covers the gap,
    // skip to it (the app was told to refetch). Otherwise the replay follows.
    if (sub.offset === null || !recovered) sub.offset = frame.offset;
    const status: SubscriptionStatus = { channel: frame.channel, offset: frame.offset, recovered };
    for (const entry of [...sub.entries]) this.call(() => entry.options.onSubscribed?.(status));
    this.emitSafe('subscribed', [status]);
  }

  private onMessage(frame: MessageFrame): void {
    const sub = this.subscriptions.get(frame.channel);
    if (!sub) return;
    if (sub.offset !== null && frame.offset <= sub.offset) return; // replayed twice: already delivered
    sub.offset = frame.offset;
    const message: ChannelMessage = {
      channel: frame.channel,
      offset: frame.offset,
      id: frame.id,
      data: frame.data,
      createdAt: frame.createdAt,
    };
    for (const entry of [...sub.entries]) this.call(() => entry.onMessage(message));
    this.emitSafe('message', [message]);
  }

  private onHistory(frame: HistoryFrame): void {
    const p = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
    if (!p || p.kind !== 'history') return;
    this.pending.delete(frame.ref as string);
    cancel(p.timer);
    p.resolve({
      items: (frame.items ?? []).map((item) => ({ ...item })),
      nextBefore: frame.nextBefore ?? null,
    });
  }

  private onError(code: NotifyError['code'], message: string, ref: string | undefined): void {
    const p = ref === undefined ? undefined : this.pending.get(ref);
    if (p && ref !== undefined) this.pending.delete(ref);
    if (p?.kind === 'history') {
      cancel(p.timer);
      return p.reject(new NotifyError(code, message));
    }
    if (p?.kind === 'unsubscribe') return; // not subscribed (any more) on the server: nothing to undo
    if (p?.kind === 'subscribe') {
      const error = new NotifyError(code, message, { channel: p.channel });
      const sub = this.subscriptions.get(p.channel);
      // Refused for good (forbidden, bad name): drop it. Transient (internal, rate limited): the next
      // connection tries again.
      if (sub && (code === 'forbidden' || code === 'bad_request')) {
        this.subscriptions.delete(p.channel);
        for (const entry of sub.entries) this.call(() => entry.options.onError?.(error));
      }
      return this.report(error);
    }
    this.report(new NotifyError(code, message));
  }

  // ---- sending ------------------------------------------------------------------------------

  private send(frame: ClientFrame): void {
    const ws = this.ws;
    if (!ws || !this.info) return;
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // closing: the close event follows and the next connection catches up
    }
  }

  private sendOrQueue(frame: ClientFrame): void {
    if (this.info) return this.send(frame);
    if (!this.running) return;
    this.outbox.push(frame);
    if (this.outbox.length > OUTBOX_MAX) this.outbox.shift();
  }

  private sendSubscribe(sub: Subscription): void {
    const ref = this.track('s', { kind: 'subscribe', channel: sub.channel });
    this.send(
      sub.offset === null
        ? { type: 'subscribe', channel: sub.channel, ref }
        : { type: 'subscribe', channel: sub.channel, since: sub.offset, ref },
    );
  }

  private newRef(prefix: string): string {
    this.nextRef = (this.nextRef + 1) % Number.MAX_SAFE_INTEGER;
    return `${prefix}${this.nextRef}`;
  }

  private track(prefix: string, p: Pending): string {
    const ref = this.newRef(prefix);
    this.pending.set(ref, p);
    return ref;
  }

  private scheduleAck(): void {
    if (this.ackTimer === null) this.ackTimer = later(() => this.flushAck(), this.ackDelayMs);
  }

  private flushAck(): void {
    this.ackTimer = cancel(this.ackTimer);
    this.persist();
    if (!this.info) return;
    const seq = Math.min(this.processed, this.ackCeiling);
    if (seq > this.ackSent) {
      this.send({ type: 'ack', seq });
      this.ackSent = seq;
    }
  }

  private schedulePing(): void {
    if (this.pingIntervalMs <= 0) return;
    const generation = this.generation;
    this.pingTimer = later(() => {
      if (generation !== this.generation || !this.info) return;
      if (this.awaitingPong) return this.giveUp('no answer to ping');
      this.awaitingPong = true;
      this.send({ type: 'ping' });
      this.schedulePing();
    }, this.pingIntervalMs);
  }

  // ---- storage and users -----------------------------------------------------------------

  private seqKey(): string | null {
    return this.userId === null ? null : `${this.prefix}.seq.${this.userId}`;
  }

  /** Loads the resume point stored for `userId` (a client serves one user at a time). */
  private switchUser(userId: string | null): void {
    this.userId = userId;
    const key = this.seqKey();
    const stored = key === null ? null : Number(readItem(this.storage, key));
    const seq = stored !== null && Number.isSafeInteger(stored) && stored > 0 ? stored : null;
    this.delivered = seq;
    this.processed = seq ?? 0;
    this.floor = null;
    this.inflight = [];
    this.fresh.clear();
  }

  /** Stores the resume point: what the app has finished with, or the floor of a fresh device. */
  private persist(force = false): void {
    const key = this.seqKey();
    if (key === null) return;
    const seq = Math.max(this.processed, this.delivered === null ? (this.floor ?? 0) : 0);
    if (seq <= 0 && !force) return;
    writeItem(this.storage, key, String(seq));
  }

  // ---- events -------------------------------------------------------------------------------

  private emitSafe<K extends keyof NotifyEvents>(event: K, args: Parameters<NotifyEvents[K]>): unknown[] {
    return this.emitAll(event, args, (err) =>
      event === 'error'
        ? host.console?.warn('notify: an error listener threw', err)
        : this.report(new NotifyError('handler', `a ${String(event)} listener threw`, { cause: err })),
    );
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(new NotifyError('handler', 'a channel handler threw', { cause: err }));
    }
  }

  private report(error: NotifyError): void {
    if (this.hasListeners('error')) this.emitSafe('error', [error]);
    else host.console?.warn(`notify: ${error.code}: ${error.message}`);
  }
}

/** Why the server stopped this client for good, for the `closed` error's message. */
function closeWhy(code: number): string {
  if (code === CloseCode.Forbidden) return 'forbidden';
  if (code === CloseCode.MessageTooBig) return 'a frame the client sent was too big';
  return `code ${code}`;
}

/**
 * `await` it for one page, or iterate it with `for await` for every notification, page after page.
 * The page is requested when first awaited or iterated.
 */
export class HistoryQuery implements PromiseLike<HistoryPage>, AsyncIterable<UserNotification> {
  private page: Promise<HistoryPage> | null = null;

  constructor(
    private readonly client: NotifyClient,
    private readonly options: HistoryOptions,
  ) {}

  then<A = HistoryPage, B = never>(
    onFulfilled?: ((page: HistoryPage) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.page ??= this.client.historyPage(this.options);
    return this.page.then(onFulfilled, onRejected);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<UserNotification, void, undefined> {
    for await (const page of this.client.historyPages(this.options)) yield* page.items;
  }
}
