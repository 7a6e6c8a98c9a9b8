import { randomInt } from 'node:crypto';
import type { JsonLogger } from '@notify/logging';
import type { ChannelSubscriptions } from '../../core/channels/channel-subscriptions';
import type { PusherBroker } from '../../core/ports';
import type { EndpointSessions } from '../../core/protocol-adapter';
import { rateClock, takeFrame } from '../../core/sessions/frame-rate';
import type { Session } from '../../core/sessions/session';
import type { PusherMetrics } from '../../metrics/pusher-metrics';
import { encodeConnectionEstablished, PING_FRAME, PusherErrorCode } from './frames';
import type { PusherSocket } from './pusher-socket';
import type { PusherSocketIndex } from './socket-index';

export interface PusherSessionLimits {
  maxPayloadBytes: number;
  maxFramesPerSecond: number;
  /** Connections of one app on this node; more are closed with 4004. */
  maxConnectionsPerApp: number;
  /** Seconds without a client frame before the server pings (and what clients are told). */
  activityTimeoutSeconds: number;
  /** Seconds to answer a server ping before the connection is closed with 4201. */
  pongTimeoutSeconds: number;
}

/** Every Pusher session's port is its PusherSocket (PusherProtocol.authorize makes it so). */
export const pusherSocketOf = (s: Session): PusherSocket => s.protocol as PusherSocket;

/**
 * The node's Pusher connections (they belong to no notify user, so they are not in the session
 * registry): socket ids, the per-app quota, server pings after inactivity (one sweep for all, not a
 * timer per socket), signed-in users, drain.
 */
export class PusherSessions implements EndpointSessions {
  private readonly perApp = new Map<string, number>();
  /** Signed-in connections by the user's routing key. */
  private readonly users = new Map<string, Set<PusherSocket>>();
  /** socket_id is `<process>.<connection>`: random per process, so ids from two nodes never meet. */
  private readonly idPrefix = randomInt(1, 2 ** 31);
  private idCounter = 0;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly byId: PusherSocketIndex,
    private readonly limits: PusherSessionLimits,
    private readonly channels: ChannelSubscriptions,
    private readonly broker: PusherBroker,
    private readonly metrics: PusherMetrics,
    private readonly log: JsonLogger,
  ) {
    const every = Math.min(5_000, Math.max(100, (limits.activityTimeoutSeconds * 1000) / 4));
    this.sweep = setInterval(() => this.pingSweep(), every);
    this.sweep.unref();
  }

  /** Pusher refuses after the handshake, with a pusher:error its clients understand. */
  refuseConnection(): string | null {
    return null;
  }

  opened(s: Session): void {
    const p = pusherSocketOf(s);
    p.session = s;
    if (p.refusal || !p.app)
      return p.end(p.refusal?.code ?? PusherErrorCode.appNotFound, p.refusal?.message ?? '');
    const appConnections = this.perApp.get(p.app.id) ?? 0;
    if (appConnections >= this.limits.maxConnectionsPerApp)
      return p.end(
        PusherErrorCode.overQuota,
        `app is over its ${this.limits.maxConnectionsPerApp} connections`,
      );
    this.perApp.set(p.app.id, appConnections + 1);
    p.socketId = `${this.idPrefix}.${++this.idCounter}`;
    p.lastSeen = rateClock();
    this.byId.add(p);
    this.metrics.connections.inc({ app: p.app.id });
    p.send(encodeConnectionEstablished(p.socketId, this.limits.activityTimeoutSeconds));
  }

  /** Any frame counts as activity. Over the size limit a frame is refused, not the connection. */
  admit(s: Session, bytes: number): boolean {
    const p = pusherSocketOf(s);
    const now = rateClock();
    p.lastSeen = now;
    p.pingSentAt = 0;
    if (bytes > this.limits.maxPayloadBytes) {
      p.error(null, `frame over ${this.limits.maxPayloadBytes} bytes`);
      return false;
    }
    switch (takeFrame(s, this.limits.maxFramesPerSecond, now)) {
      case 'ok':
        return true;
      case 'refuse':
        p.error(PusherErrorCode.rateLimited, `over ${this.limits.maxFramesPerSecond} frames per second`);
        return false;
      case 'close':
        p.end(PusherErrorCode.overCapacity, 'frame rate over limit');
        return false;
    }
  }

  closed(s: Session): void {
    s.closed = true;
    s.conn = null;
    const p = pusherSocketOf(s);
    if (!p.app || !this.byId.remove(p)) return;
    const left = (this.perApp.get(p.app.id) ?? 1) - 1;
    if (left > 0) this.perApp.set(p.app.id, left);
    else this.perApp.delete(p.app.id);
    this.metrics.connections.dec({ app: p.app.id });
    if (s.subscriptions) for (const [name, sub] of s.subscriptions) if (sub.active) p.leftOnClose(name);
    p.leftPresenceOnClose();
    this.channels.closed(s);
    if (p.user) this.signedOut(p);
  }

  /** Resolves once the user's key is bound, so a terminate published after signin_success lands. */
  async signedIn(p: PusherSocket): Promise<void> {
    if (!p.user || !p.app) return;
    let sockets = this.users.get(p.user.key);
    const first = !sockets;
    if (!sockets) this.users.set(p.user.key, (sockets = new Set()));
    sockets.add(p);
    if (first) await this.broker.acquireUser(p.app.id, p.user.id);
  }

  private signedOut(p: PusherSocket): void {
    if (!p.user || !p.app) return;
    const sockets = this.users.get(p.user.key);
    if (!sockets?.delete(p) || sockets.size > 0) return;
    this.users.delete(p.user.key);
    this.broker.releaseUser(p.app.id, p.user.id);
  }

  /** terminate_connections for the user of routing key `key`: their sockets here close with 4009. */
  terminate(key: string): void {
    const sockets = this.users.get(key);
    if (!sockets) return;
    this.log.info('pusher user connections terminated', { key, sockets: sockets.size });
    for (const p of [...sockets]) p.end(PusherErrorCode.unauthorized, 'connections terminated');
  }

  drainAll(): void {
    for (const p of [...this.byId.values()]) p.drain();
  }

  /** Pings connections idle for the activity timeout; closes those that did not answer in time. */
  private pingSweep(): void {
    const now = rateClock();
    const idleMs = this.limits.activityTimeoutSeconds * 1000;
    const pongMs = this.limits.pongTimeoutSeconds * 1000;
    const late: PusherSocket[] = [];
    for (const p of this.byId.values()) {
      if (p.pingSentAt !== 0) {
        if (now - p.pingSentAt > pongMs) late.push(p);
      } else if (now - p.lastSeen >= idleMs) {
        p.pingSentAt = now;
        p.send(PING_FRAME);
      }
    }
    // Closing edits byId: not while iterating it.
    for (const p of late) p.end(PusherErrorCode.pongNotReceived, 'pong reply not received');
  }
}
