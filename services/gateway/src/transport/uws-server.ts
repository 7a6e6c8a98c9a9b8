import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  us_listen_socket,
  us_socket_context_t,
  WebSocket,
} from 'uWebSockets.js';
import type { JsonLogger } from '@notify/logging';
import type { EndpointSessions, ProtocolAdapter } from '../core/protocol-adapter';
import { newSession } from '../core/sessions/session';
import type { SessionLifecycle } from '../core/sessions/session-lifecycle';
import type { GatewayMetrics } from '../metrics/gateway-metrics';
import type { BurstCompaction } from '../runtime/burst-compaction';
import type { UwsModule } from '../runtime/native-uws';
import { writeJson } from '../runtime/http-reply';
import type { SocketData } from './socket-writer';

/**
 * Token expiry is enforced by one sweep over the node's sockets at this interval rather than a timer
 * per socket (a Timeout costs more memory than the rest of an idle session); a socket outlives its
 * token by less than this.
 */
const EXPIRY_SWEEP_MS = 1_000;
/**
 * uWS drops the TCP connection, without a close frame, on a frame over its own maxPayloadLength. So
 * its limit is set well above ours, and frames between the two get the protocol's too-big close.
 */
const UWS_PAYLOAD_HEADROOM = 4;
const UWS_MIN_PAYLOAD = 64 * 1024;

export interface TransportOptions {
  port: number;
  maxPayloadBytes: number;
  maxBackpressureBytes: number;
  idleTimeoutSeconds: number;
  maxFramesPerSecond: number;
}

/** One WebSocket endpoint and the protocol spoken on it. */
export interface Endpoint {
  path: string;
  protocol: ProtocolAdapter;
  /** Whose connections these are; the native user sessions (SessionLifecycle) unless given. */
  sessions?: EndpointSessions;
}

/** The node's uWebSockets.js sockets: upgrade, lifecycle, listen and drain. */
export class UwsServer {
  private listenSocket: us_listen_socket | null = null;
  private drainingNow = false;
  private readonly sweep: NodeJS.Timeout;
  /** The sessions of every endpoint served but the native one (drained with it). */
  private readonly otherSessions: EndpointSessions[] = [];

  constructor(
    private readonly app: TemplatedApp,
    private readonly uws: UwsModule,
    private readonly options: TransportOptions,
    private readonly lifecycle: SessionLifecycle,
    private readonly compaction: BurstCompaction,
    private readonly metrics: GatewayMetrics,
    private readonly log: JsonLogger,
  ) {
    this.sweep = setInterval(
      () =>
        this.guard(() => {
          this.lifecycle.closeExpired(Date.now() / 1000);
          this.compactAfterBurst();
        }),
      EXPIRY_SWEEP_MS,
    );
    this.sweep.unref();
  }

  get draining(): boolean {
    return this.drainingNow;
  }

  serve({ path, protocol, sessions = this.lifecycle }: Endpoint): void {
    if (sessions !== this.lifecycle) this.otherSessions.push(sessions);
    this.app.ws<SocketData>(path, {
      maxPayloadLength: Math.max(UWS_MIN_PAYLOAD, this.options.maxPayloadBytes * UWS_PAYLOAD_HEADROOM),
      maxBackpressure: this.options.maxBackpressureBytes,
      // Without it a topic publish silently skips a subscriber over the limit: a gap nobody sees.
      closeOnBackpressureLimit: 1,
      idleTimeout: this.options.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.upgrade(protocol, sessions, res, req, context),
      open: (ws) => this.guard(() => this.open(sessions, ws)),
      message: (ws, message) =>
        this.guard(() => {
          const s = ws.getUserData().session;
          if (sessions.admit(s, message.byteLength)) protocol.message(s, message);
        }),
      close: (ws, code) => this.guard(() => sessions.closed(ws.getUserData().session, code)),
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen('0.0.0.0', this.options.port, (socket) => {
        if (!socket) return reject(new Error(`cannot listen on port ${this.options.port}`));
        this.listenSocket = socket;
        resolve(this.uws.us_socket_local_port(socket));
      });
    });
  }

  private upgrade(
    protocol: ProtocolAdapter,
    sessions: EndpointSessions,
    res: HttpResponse,
    req: HttpRequest,
    context: us_socket_context_t,
  ): void {
    // Everything needed from `req` is copied now: it is invalid after this function returns.
    const request = {
      url: req.getUrl(),
      authorization: req.getHeader('authorization'),
      origin: req.getHeader('origin'),
      query: req.getQuery() ?? '',
    };
    const key = req.getHeader('sec-websocket-key');
    const wsProtocol = req.getHeader('sec-websocket-protocol');
    const extensions = req.getHeader('sec-websocket-extensions');
    if (this.drainingNow) {
      this.metrics.rejectedUpgrades.inc({ reason: 'draining' });
      return writeJson(res, '503 Service Unavailable', { error: 'node is draining; reconnect' });
    }
    // Decided and upgraded inside uWS' own (corked) handler: never after an await, see
    // docs/architecture.md, "uWebSockets.js 20.30 and async upgrades".
    const decision = protocol.authorize(request);
    if (!decision.ok) {
      this.metrics.rejectedUpgrades.inc({ reason: decision.reason });
      return writeJson(res, decision.status, { error: decision.reason });
    }
    const refused = sessions.refuseConnection(decision.fields);
    if (refused) {
      this.metrics.rejectedUpgrades.inc({ reason: 'connections per user' });
      return writeJson(res, '429 Too Many Requests', { error: refused });
    }
    const data: SocketData = {
      session: newSession(decision.fields, decision.port, this.options.maxFramesPerSecond),
    };
    res.upgrade(data, key, wsProtocol, extensions, context);
  }

  private open(sessions: EndpointSessions, ws: WebSocket<SocketData>): void {
    const s = ws.getUserData().session;
    s.conn = ws;
    this.compaction.opening(Date.now());
    sessions.opened(s);
  }

  private compactAfterBurst(): void {
    const done = this.compaction.tick(Date.now());
    if (!done) return;
    this.metrics.heapCompactions.inc({ reason: done.reason });
    this.log.info('heap compacted', {
      reason: done.reason,
      opened: done.opened,
      pauseMs: Math.round(done.pauseMs),
      rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
    });
  }

  /**
   * Graceful drain: readiness turns 503 and upgrades are refused, every socket is asked to reconnect
   * elsewhere and closed, then the listen socket closes. The caller then closes the broker and store.
   */
  drain(drainMs: number): void {
    this.drainingNow = true;
    clearInterval(this.sweep);
    this.lifecycle.drainAll(drainMs);
    for (const sessions of this.otherSessions) sessions.drainAll(drainMs);
    if (this.listenSocket) this.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /** An exception must never escape into uWS: log it and keep the node up. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error('handler failed', { error: err });
    }
  }
}
