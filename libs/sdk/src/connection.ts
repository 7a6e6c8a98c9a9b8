import { closeAction, CloseCode, type ClientFrame, type ReadyFrame } from '@notify/protocol';
import { backoffDelay, MIN_RETRY_MS } from './backoff.js';
import { cancel, later, type Timer, type WebSocketConstructor, type WebSocketLike } from './host.js';
import type { Link } from './link.js';
import { Liveness } from './liveness.js';
import { tokenExpired, TokenSource } from './token.js';
import {
  NotifyError,
  type ConnectionState,
  type NotifyClientOptions,
  type ReadyInfo,
  type StateChange,
} from './types.js';

/**
 * Close code the client reports when it gives up on a connection itself (no ready in time, no pong).
 * Never sent on the wire; from the reconnect range of `closeAction` (4100–4999), so it is retried.
 */
export const CLIENT_GAVE_UP = 4100;

/** What the connection needs from the rest of the client. */
export interface ConnectionHooks {
  /** The resume point to open the next socket with (null: none, the server starts at the newest). */
  resumePoint(): number | null;
  /** A frame of the current socket. */
  frame(data: unknown): void;
  /** A new token names this user. */
  tokenUser(userId: string): void;
  /** The current socket is gone (closed, given up or stopped): what was in flight on it is lost. */
  ended(): void;
  /** Stop for good (a terminal close code, or a fixed token that expired). */
  stop(error: NotifyError, closeCode: number, reason: string): void;
}

/**
 * One socket at a time: opened with a token and the resume point, retried with backoff (or the drain
 * delay), checked for liveness with pings, and after a close, reconnect or stop as `closeAction` says.
 */
export class Connection {
  private readonly url: string;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly stableAfterMs: number;
  private readonly tokens: TokenSource;
  private readonly liveness: Liveness;

  private stateValue: ConnectionState = 'closed';
  private runningValue = false;
  private everReady = false;
  /** Incremented per socket: events of an older socket are ignored. */
  private generation = 0;
  private ws: WebSocketLike | null = null;
  private info: ReadyInfo | null = null;
  private readyAt = 0;
  private attempt = 0;
  private retryTimer: Timer | null = null;
  /** `afterMs` of a `reconnect` frame (drain) received on the current connection. */
  private drainAfterMs: number | null = null;
  private readyWaiters: { resolve: (info: ReadyInfo) => void; reject: (err: NotifyError) => void }[] = [];

  constructor(
    options: NotifyClientOptions,
    private readonly WebSocketImpl: WebSocketConstructor,
    private readonly deviceId: string,
    private readonly link: Link,
    private readonly hooks: ConnectionHooks,
  ) {
    this.url = options.url;
    this.baseMs = options.backoff?.baseMs ?? 500;
    this.capMs = options.backoff?.capMs ?? 30_000;
    this.stableAfterMs = options.stableAfterMs ?? 5_000;
    this.tokens = new TokenSource(options.token, (userId) => hooks.tokenUser(userId));
    this.liveness = new Liveness(
      options.connectTimeoutMs ?? 15_000,
      options.pingIntervalMs ?? 30_000,
      () => this.send({ type: 'ping' }),
      (reason) => this.giveUp(reason),
    );
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The current connection's `ready` info, or null while not connected. */
  get ready(): ReadyInfo | null {
    return this.info;
  }

  /** Between `start()` and `halt()`. */
  get running(): boolean {
    return this.runningValue;
  }

  start(): void {
    this.runningValue = true;
    this.attempt = 0;
    void this.open();
  }

  /** Resolves with the current or next `ready`; rejects if the client stops first. */
  waitReady(): Promise<ReadyInfo> {
    if (this.info) return Promise.resolve(this.info);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** The `ready` frame arrived: the connection is open. */
  opened(frame: ReadyFrame): void {
    this.liveness.ready();
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
  }

  /** Resolves the `connect()` promises waiting for this `ready`. */
  settleWaiters(): void {
    const waiters = this.readyWaiters.splice(0);
    for (const w of waiters) w.resolve(this.info as ReadyInfo);
  }

  /** Any frame from the server shows the connection is alive. */
  heard(): void {
    this.liveness.heard();
  }

  /** The node drains: the next attempt waits `afterMs` (bounded to 5 minutes) instead of the backoff. */
  drain(afterMs: number): void {
    this.drainAfterMs = Math.max(0, Math.min(Number(afterMs) || 0, 5 * 60_000));
  }

  send(frame: ClientFrame): void {
    const ws = this.ws;
    if (!ws || !this.info) return;
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // closing: the close event follows and the next connection catches up
    }
  }

  /** Pings the open connection and gives up on it when it answers nothing between two pings. */
  watch(): void {
    const generation = this.generation;
    this.liveness.watch(() => generation === this.generation && this.info !== null);
  }

  /** Stops reconnecting and drops the socket; `closed()` ends the stop once the rest is cleaned up. */
  halt(): void {
    this.runningValue = false;
    this.retryTimer = cancel(this.retryTimer);
    const ws = this.ws;
    this.end();
    if (ws) this.detach(ws);
  }

  /** Rejects the `connect()` promises still waiting and reports the state `closed`. */
  closed(why: () => NotifyError, closeCode: number, reason: string): void {
    const waiters = this.readyWaiters.splice(0);
    for (const w of waiters) w.reject(why());
    this.setState('closed', { closeCode, reason });
  }

  private async open(): Promise<void> {
    this.retryTimer = cancel(this.retryTimer);
    const generation = ++this.generation;
    this.setState(this.everReady ? 'reconnecting' : 'connecting', { attempt: this.attempt });
    let token: string;
    try {
      token = await this.tokens.current();
    } catch (err) {
      if (generation !== this.generation || !this.runningValue) return;
      const error =
        err instanceof NotifyError ? err : new NotifyError('token', 'token function failed', { cause: err });
      if (this.tokens.fixed) return this.hooks.stop(error, CloseCode.TokenExpired, error.message);
      this.link.report(error);
      return this.retry(this.backoff(), { closeCode: CloseCode.Abnormal });
    }
    if (generation !== this.generation || !this.runningValue) return;

    const since = this.hooks.resumePoint();
    let query = `device=${encodeURIComponent(this.deviceId)}&token=${encodeURIComponent(token)}`;
    if (since !== null) query += `&since=${since}`;
    const url = `${this.url}${this.url.includes('?') ? '&' : '?'}${query}`;
    let ws: WebSocketLike;
    try {
      ws = new this.WebSocketImpl(url);
    } catch (err) {
      this.link.report(new NotifyError('protocol', 'could not create the WebSocket', { cause: err }));
      return this.retry(this.backoff(), { closeCode: CloseCode.Abnormal });
    }
    this.ws = ws;
    this.drainAfterMs = null;
    ws.onmessage = ((event: { data?: unknown }) => {
      if (generation === this.generation) this.hooks.frame(event.data);
    }) as WebSocketLike['onmessage'];
    ws.onclose = ((event: { code?: number; reason?: string }) => {
      if (generation === this.generation) this.onClose(event.code ?? CloseCode.Abnormal, event.reason ?? '');
    }) as WebSocketLike['onclose'];
    ws.onerror = (() => undefined) as WebSocketLike['onerror'];
    this.liveness.opening(() => generation === this.generation && !this.info);
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

  /** Common end of a connection; then, by `closeAction`, retry, or stop for good. */
  private onClose(code: number, reason: string): void {
    const wasReady = this.info !== null;
    const upFor = wasReady ? Date.now() - this.readyAt : 0;
    const drainAfterMs = this.drainAfterMs;
    this.end();
    if (!this.runningValue) return;

    const action = closeAction(code);
    if (action === 'stop') {
      return this.hooks.stop(
        new NotifyError('closed', `the server closed the connection: ${closeWhy(code)}`, { closeCode: code }),
        code,
        reason,
      );
    }
    if (action === 'refresh-token') {
      if (this.tokens.fixed) return this.hooks.stop(tokenExpired(code), code, reason);
      this.tokens.markStale();
    } else if (!wasReady) {
      // Refused before ready: maybe HTTP 401 at the upgrade (browsers cannot tell). Ask for a new token.
      this.tokens.markStale();
    }
    if (wasReady && upFor >= this.stableAfterMs) this.attempt = 0;
    if (drainAfterMs !== null) {
      return this.retry(Math.max(MIN_RETRY_MS, drainAfterMs), { closeCode: code, reason, drain: true });
    }
    // A fresh token is not a failed attempt: reconnect at the first backoff step.
    const delay =
      action === 'refresh-token' && wasReady ? backoffDelay(0, this.baseMs, this.capMs) : this.backoff();
    this.retry(delay, { closeCode: code, reason });
  }

  private end(): void {
    this.generation++;
    this.ws = null;
    this.info = null;
    this.drainAfterMs = null;
    this.liveness.end();
    this.hooks.ended();
  }

  /** The next failed attempt's delay. */
  private backoff(): number {
    return backoffDelay(this.attempt++, this.baseMs, this.capMs);
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
      if (this.runningValue) void this.open();
    }, delayMs);
  }

  private setState(state: ConnectionState, change: Partial<StateChange> = {}, always = false): void {
    const previous = this.stateValue;
    if (previous === state && !always) return;
    this.stateValue = state;
    this.link.emit('state', [{ ...change, state, previous }]);
  }
}

/** Why the server stopped this client for good, for the `closed` error's message. */
function closeWhy(code: number): string {
  if (code === CloseCode.Forbidden) return 'forbidden';
  if (code === CloseCode.MessageTooBig) return 'a frame the client sent was too big';
  return `code ${code}`;
}
