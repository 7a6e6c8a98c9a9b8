import { randomUUID } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';
import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  us_listen_socket,
  us_socket_context_t,
  WebSocket,
} from 'uWebSockets.js';
import type { JwtVerifier } from '@notify/auth';
import { DeliveryHeader, DeliveryKind, userRoutingKey } from '@notify/amqp';
import type { JsonLogger } from '@notify/logging';
import { CloseCode, type ReadyFrame, type ReconnectFrame } from '@notify/protocol';
import type { GatewayConfig } from '../config/gateway.config';
import type { UserDelivery } from '../delivery/user-delivery';
import type { NodeQueue } from '../delivery/node-queue';
import type { SessionReads } from '../delivery/session-reads';
import type { GatewayMetrics } from '../http/metrics';
import type { UwsModule } from '../runtime/native-uws';
import type { BurstCompaction } from '../runtime/burst-compaction';
import { newSession, type Session, type SocketData } from '../session/session';
import type { SessionRegistry } from '../session/session-registry';
import { authorizeUpgrade, authorizeUpgradeSync, type UpgradeDecision } from './upgrade-auth';
import { rateClock, takeFrame } from './frame-rate';
import type { FrameSender } from './frame-sender';
import type { ClientFrames } from './client-frames';
import type { InboxFrames } from './inbox-frames';
import type { ChannelFanout } from '../channels/channel-fanout';
import type { ChannelFrames } from '../channels/channel-frames';

/**
 * Token expiry is enforced by one sweep over the node's sockets at this interval rather than a timer
 * per socket (a Timeout costs more memory than the rest of an idle session); a socket outlives its
 * token by less than this.
 */
const EXPIRY_SWEEP_MS = 1_000;
/**
 * uWS drops the TCP connection, without a close frame, on a frame over its own maxPayloadLength. So
 * its limit is set well above ours, and frames between the two get the contract's 1009 close from us.
 */
const UWS_PAYLOAD_HEADROOM = 4;
const UWS_MIN_PAYLOAD = 64 * 1024;

export interface GatewayDeps {
  config: GatewayConfig;
  uws: UwsModule;
  verifier: JwtVerifier;
  registry: SessionRegistry;
  nodeQueue: NodeQueue;
  delivery: UserDelivery;
  frames: ClientFrames;
  sender: FrameSender;
  inbox: InboxFrames;
  fanout: ChannelFanout;
  channelFrames: ChannelFrames;
  reads: SessionReads;
  compaction: BurstCompaction;
  metrics: GatewayMetrics;
  log: JsonLogger;
  /** Whether the node may take traffic (broker and store reachable). */
  dependenciesReady(): Promise<{ rabbitmq: boolean; postgres: boolean }>;
}

/** The node's uWebSockets.js app: WebSocket endpoint, health, metrics and drain. */
export class GatewayServer {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  private draining = false;
  private readonly expirySweep: NodeJS.Timeout;

  constructor(
    private readonly d: GatewayDeps,
    app: TemplatedApp,
  ) {
    this.app = app;
    this.app.ws<SocketData>('/v1/ws', {
      maxPayloadLength: Math.max(UWS_MIN_PAYLOAD, d.config.maxPayloadBytes * UWS_PAYLOAD_HEADROOM),
      maxBackpressure: d.config.maxBackpressureBytes,
      // Without it a topic publish silently skips a subscriber over the limit: a gap nobody sees.
      closeOnBackpressureLimit: 1,
      idleTimeout: d.config.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => this.guard(() => this.open(ws)),
      message: (ws, message) => this.guard(() => this.message(ws, message)),
      close: (ws, code) => this.guard(() => this.close(ws, code)),
    });
    this.app.get('/healthz', (res) => json(res, '200 OK', { status: 'ok', node: d.config.nodeId }));
    this.app.get('/readyz', (res) => this.readyz(res));
    this.app.get('/metrics', (res) => this.metricsRoute(res));
    this.app.any('/*', (res) => json(res, '404 Not Found', { error: 'not found' }));
    this.expirySweep = setInterval(
      () =>
        this.guard(() => {
          this.closeExpired();
          this.compactAfterBurst();
        }),
      EXPIRY_SWEEP_MS,
    );
    this.expirySweep.unref();
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen('0.0.0.0', this.d.config.port, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on port ${this.d.config.port}`));
        this.listenSocket = socket;
        resolve(this.d.uws.us_socket_local_port(socket));
      });
    });
  }

  /** A message from the node queue. */
  dispatch(message: ConsumeMessage): void {
    const headers = message.properties.headers ?? {};
    if (message.properties.type === DeliveryKind.ChannelMessage) {
      this.d.fanout.live(
        String(headers[DeliveryHeader.channel]),
        Number(headers[DeliveryHeader.offset]),
        message.content,
      );
      return;
    }
    const first = this.d.registry.firstOf(String(headers[DeliveryHeader.userId]));
    if (!first) return;
    switch (message.properties.type) {
      case DeliveryKind.Notification: {
        this.d.delivery.live(first, Number(headers[DeliveryHeader.seq]), message.content);
        const acceptedAt = Number(headers[DeliveryHeader.acceptedAt]);
        if (acceptedAt > 0) this.d.metrics.latency.observe((Date.now() - acceptedAt) / 1000);
        return;
      }
      case DeliveryKind.Read:
        return this.d.inbox.deliverRead(first, Number(headers[DeliveryHeader.readVersion]), message.content);
    }
  }

  /** After a broker reconnect, live messages may be missing: every socket checks the store. */
  resyncAll(): void {
    for (const s of this.d.registry.all()) if (!s.catchingUp && !s.closed) void this.d.delivery.catchUp(s);
    this.d.fanout.resyncAll();
  }

  private upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    // Everything needed from `req` is copied now: it is invalid after this function returns.
    const request = {
      authorization: req.getHeader('authorization'),
      origin: req.getHeader('origin'),
      query: req.getQuery() ?? '',
    };
    const key = req.getHeader('sec-websocket-key');
    const protocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    let aborted = false;
    res.onAborted(() => (aborted = true));
    if (this.draining) {
      this.d.metrics.rejectedUpgrades.inc({ reason: 'draining' });
      return json(res, '503 Service Unavailable', { error: 'node is draining; reconnect' });
    }
    if (this.d.verifier.synchronous) {
      // Decided and upgraded inside uWS' own (corked) handler: no async upgrade, see verifyHs256.
      this.completeUpgrade(
        res,
        authorizeUpgradeSync(request, this.d.verifier, this.d.config.allowedOrigins),
        key,
        protocol,
        extensions,
        context,
        false,
      );
      return;
    }
    authorizeUpgrade(request, this.d.verifier, this.d.config.allowedOrigins).then(
      (decision) => {
        if (!aborted) this.completeUpgrade(res, decision, key, protocol, extensions, context, true);
      },
      (err: unknown) => {
        this.d.log.error('upgrade failed', { error: err });
        if (!aborted) json(res, '500 Internal Server Error', { error: 'internal' });
      },
    );
  }

  private completeUpgrade(
    res: HttpResponse,
    decision: UpgradeDecision,
    key: string,
    protocol: string,
    extensions: string,
    context: us_socket_context_t,
    fromAsync: boolean,
  ): void {
    if (!decision.ok) {
      this.d.metrics.rejectedUpgrades.inc({ reason: decision.reason });
      return json(res, decision.status, { error: decision.reason });
    }
    if (this.d.registry.countOf(decision.token.userId) >= this.d.config.maxConnectionsPerUser) {
      this.d.metrics.rejectedUpgrades.inc({ reason: 'connections per user' });
      return json(res, '429 Too Many Requests', {
        error: `at most ${this.d.config.maxConnectionsPerUser} connections per user on this node`,
      });
    }
    const session = newSession({
      userId: decision.token.userId,
      deviceId: decision.deviceId,
      expiresAt: decision.token.expiresAt,
      channels: decision.token.channels,
      since: decision.since,
      framesPerSecond: this.d.config.maxFramesPerSecond,
    });
    const data: SocketData = { session };
    if (fromAsync) res.cork(() => res.upgrade(data, key, protocol, extensions, context));
    else res.upgrade(data, key, protocol, extensions, context);
  }

  private open(ws: WebSocket<SocketData>): void {
    const s = ws.getUserData().session;
    s.ws = ws;
    const firstOfUser = this.d.registry.add(s);
    if (firstOfUser) this.d.metrics.users.inc();
    this.d.metrics.connections.inc();
    this.d.compaction.opening(Date.now());
    void this.start(s, firstOfUser);
  }

  /**
   * Binds the user's key first, then reads the resume point, so nothing falls between. The key is
   * held once per user on the node (the registry counts the user's sockets): the first socket binds
   * it, the others wait for that bind.
   */
  private async start(s: Session, firstOfUser: boolean): Promise<void> {
    try {
      const key = userRoutingKey(s.userId);
      await (firstOfUser ? this.d.nodeQueue.hold(key) : this.d.nodeQueue.whenBound(key));
      if (s.closed) return;
      const state = await this.d.reads.state(s.userId, s.deviceId);
      const cursor = state.cursor;
      if (s.closed || !s.ws) return;
      // A resume point beyond the newest seq (a client from another database) would swallow
      // future notifications as duplicates.
      s.position = Math.min(s.since ?? cursor ?? state.lastSeq, state.lastSeq);
      s.ackedSeq = Math.min(cursor ?? 0, s.position);
      s.target = Math.max(s.target, state.lastSeq);
      s.readVersion = Math.max(s.readVersion, state.readVersion);
      const ready: ReadyFrame = {
        type: 'ready',
        userId: s.userId,
        deviceId: s.deviceId,
        connectionId: randomUUID(),
        node: this.d.config.nodeId,
        lastSeq: state.lastSeq,
        unread: state.unread,
      };
      const ws = s.ws;
      ws.cork(() => ws.send(JSON.stringify(ready), false));
      // Most sockets resume with nothing to replay: then no query, straight to live.
      if (s.target > s.position) await this.d.delivery.catchUp(s);
      else s.catchingUp = false;
    } catch (err) {
      this.d.log.error('session start failed', { userId: s.userId, error: err });
      if (!s.closed) s.ws?.end(CloseCode.InternalError, 'temporarily unavailable');
    }
  }

  private message(ws: WebSocket<SocketData>, message: ArrayBuffer): void {
    const s = ws.getUserData().session;
    if (message.byteLength > this.d.config.maxPayloadBytes) {
      s.closed = true;
      ws.end(CloseCode.MessageTooBig, `frame over ${this.d.config.maxPayloadBytes} bytes`);
      return;
    }
    switch (takeFrame(s, this.d.config.maxFramesPerSecond, rateClock())) {
      case 'ok':
        return this.d.frames.handle(s, message);
      case 'refuse':
        this.d.metrics.rateLimited.inc();
        return void this.d.sender.error(
          s,
          'rate_limited',
          `over ${this.d.config.maxFramesPerSecond} frames per second`,
        );
      case 'close':
        s.closed = true;
        return ws.end(CloseCode.RateLimited, 'frame rate over limit');
    }
  }

  private close(ws: WebSocket<SocketData>, code: number): void {
    const s = ws.getUserData().session;
    this.d.log.debug('socket closed', {
      userId: s.userId,
      deviceId: s.deviceId,
      code,
      sentSeq: s.position,
      catchingUp: s.catchingUp,
    });
    s.closed = true;
    s.ws = null;
    this.d.metrics.connections.dec();
    if (this.d.registry.remove(s)) {
      this.d.metrics.users.dec();
      this.d.nodeQueue.unhold(userRoutingKey(s.userId));
    }
    this.d.channelFrames.closed(s);
  }

  private closeExpired(): void {
    const nowSeconds = Date.now() / 1000;
    const expired: Session[] = [];
    for (const s of this.d.registry.all()) if (s.expiresAt <= nowSeconds && !s.closed) expired.push(s);
    // Closing runs the close handler at once, which edits the registry: not while iterating it.
    for (const s of expired) s.ws?.end(CloseCode.TokenExpired, 'token expired');
  }

  private compactAfterBurst(): void {
    const done = this.d.compaction.tick(Date.now());
    if (!done) return;
    this.d.metrics.heapCompactions.inc({ reason: done.reason });
    this.d.log.info('heap compacted', {
      reason: done.reason,
      opened: done.opened,
      pauseMs: Math.round(done.pauseMs),
      rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
    });
  }

  private readyz(res: HttpResponse): void {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    this.d.dependenciesReady().then((deps) => {
      if (aborted) return;
      const ready = deps.rabbitmq && deps.postgres && !this.draining;
      json(res, ready ? '200 OK' : '503 Service Unavailable', {
        ready,
        checks: { ...deps, draining: this.draining },
      });
    });
  }

  private metricsRoute(res: HttpResponse): void {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    this.d.metrics.bindings.set(this.d.nodeQueue.boundKeys);
    let buffered = 0;
    for (const session of this.d.registry.all())
      if (session.ws && !session.closed) buffered += session.ws.getBufferedAmount();
    this.d.metrics.sendBufferBytes.set(buffered);
    this.d.metrics.channels.set(this.d.fanout.activeChannels);
    this.d.metrics.registry.metrics().then((text) => {
      if (aborted) return;
      res.cork(() => res.writeHeader('content-type', this.d.metrics.registry.contentType).end(text));
    });
  }

  /**
   * Graceful drain: readiness turns 503 and upgrades are refused, every socket gets a `reconnect`
   * frame with a jittered delay (so a node's clients do not all land on the others at once) and a
   * 1001 close, then the listen socket closes. The caller then closes the broker and the store.
   */
  drain(): void {
    this.draining = true;
    clearInterval(this.expirySweep);
    for (const s of [...this.d.registry.all()]) {
      const ws = s.ws;
      if (!ws || s.closed) continue;
      const frame: ReconnectFrame = {
        type: 'reconnect',
        afterMs: Math.floor(Math.random() * this.d.config.drainMs),
      };
      ws.cork(() => {
        ws.send(JSON.stringify(frame), false);
        ws.end(CloseCode.GoingAway, 'node draining');
      });
    }
    if (this.listenSocket) this.d.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /** An exception must never escape into uWS: log it and keep the node up. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.d.log.error('handler failed', { error: err });
    }
  }
}

function json(res: HttpResponse, status: string, body: unknown): void {
  res.cork(() =>
    res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body)),
  );
}
