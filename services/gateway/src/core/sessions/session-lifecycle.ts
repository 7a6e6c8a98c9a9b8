import type { JsonLogger } from '@notify/logging';
import type { GatewayMetrics } from '../../metrics/gateway-metrics';
import type { ChannelFanout } from '../channels/channel-fanout';
import type { ChannelSubscriptions } from '../channels/channel-subscriptions';
import type { Bindings } from '../ports';
import { applyResumePoint } from '../user-stream/resume';
import type { SessionReads } from '../user-stream/session-reads';
import type { UserDelivery } from '../user-stream/user-delivery';
import type { ConnectionIds } from './connection-ids';
import { rateClock, takeFrame } from './frame-rate';
import type { Session, SessionFields } from './session';
import type { SessionRegistry } from './session-registry';
import type { UserConnections } from './user-connections';

export interface SessionLimits {
  maxPayloadBytes: number;
  maxFramesPerSecond: number;
  /** Connections per user across the cluster (this node's are counted exactly, others' from the store). */
  maxConnectionsPerUser: number;
}

/** A connection's life in the core: admitted, opened, resumed, fed frames, expired, closed. */
export class SessionLifecycle {
  constructor(
    private readonly nodeId: string,
    private readonly limits: SessionLimits,
    private readonly registry: SessionRegistry,
    private readonly ids: ConnectionIds,
    private readonly connections: UserConnections,
    private readonly bindings: Bindings,
    private readonly reads: SessionReads,
    private readonly delivery: UserDelivery,
    private readonly channels: ChannelSubscriptions,
    private readonly fanout: ChannelFanout,
    private readonly metrics: GatewayMetrics,
    private readonly log: JsonLogger,
  ) {}

  /**
   * Why a new connection of this user is refused at upgrade, or null when it may open: the fast check
   * on this node's own sockets. The cluster-wide count comes at start (see `start`).
   */
  refuseConnection({ userId }: Pick<SessionFields, 'userId'>): string | null {
    if (this.registry.countOf(userId) < this.limits.maxConnectionsPerUser) return null;
    return `at most ${this.limits.maxConnectionsPerUser} connections per user on this node`;
  }

  opened(s: Session): void {
    s.connectionNumber = this.ids.next();
    this.connections.opened(s);
    const firstOfUser = this.registry.add(s);
    if (firstOfUser) this.metrics.users.inc();
    this.metrics.connections.inc();
    void this.start(s, firstOfUser);
  }

  /**
   * Binds the user's key first, then reads the resume point, so nothing falls between. The key is
   * held once per user on the node (the registry counts the user's sockets): the first socket binds
   * it, the others wait for that bind. The same read counts the user's connections on the other live
   * nodes: a user already at the maximum across the cluster is closed here, before `ready` (upgrades
   * stay synchronous, see architecture.md on uWS and async upgrades).
   */
  private async start(s: Session, firstOfUser: boolean): Promise<void> {
    try {
      await (firstOfUser ? this.bindings.holdUser(s.userId) : this.bindings.userBound(s.userId));
      if (s.closed) return;
      const state = await this.reads.state(s.userId, s.deviceId);
      if (s.closed) return;
      if (this.registry.countOf(s.userId) + state.connectionsElsewhere > this.limits.maxConnectionsPerUser) {
        this.metrics.tooManyConnections.inc();
        s.protocol.close(s, 'too-many-connections', 'too many connections');
        return;
      }
      const backlog = applyResumePoint(s, state);
      s.protocol.ready(s, {
        connectionId: this.ids.uuidOf(s.connectionNumber),
        node: this.nodeId,
        lastSeq: state.lastSeq,
        unread: state.unread,
      });
      // A user who ever set preferences gets them right after `ready` (their devices show them and
      // another device may have changed them while this one was away).
      if (state.preferencesVersion > 0 && state.preferences)
        s.protocol.preferences(s, { preferences: state.preferences, version: state.preferencesVersion });
      // Most sockets resume with nothing to replay: then no query, straight to live.
      if (backlog) await this.delivery.catchUp(s);
      else s.catchingUp = false;
    } catch (err) {
      this.log.error('session start failed', { userId: s.userId, error: err });
      if (!s.closed) s.protocol.close(s, 'internal', 'temporarily unavailable');
    }
  }

  /**
   * Whether a client frame of `bytes` may be handled: over the size limit the connection closes,
   * over the frame budget the frame is refused (and after a second budget's worth, closed).
   */
  admit(s: Session, bytes: number): boolean {
    if (bytes > this.limits.maxPayloadBytes) {
      s.protocol.close(s, 'too-big', `frame over ${this.limits.maxPayloadBytes} bytes`);
      return false;
    }
    switch (takeFrame(s, this.limits.maxFramesPerSecond, rateClock())) {
      case 'ok':
        return true;
      case 'refuse':
        this.metrics.rateLimited.inc();
        s.protocol.refuse(s, {
          kind: 'rate_limited',
          message: `over ${this.limits.maxFramesPerSecond} frames per second`,
        });
        return false;
      case 'close':
        s.protocol.close(s, 'rate-limited', 'frame rate over limit');
        return false;
    }
  }

  /** The transport saw the connection close (`code` only for the log). */
  closed(s: Session, code: number): void {
    this.log.debug('socket closed', {
      userId: s.userId,
      deviceId: s.deviceId,
      code,
      sentSeq: s.position,
      catchingUp: s.catchingUp,
    });
    s.closed = true;
    s.conn = null;
    this.connections.closed(s);
    this.metrics.connections.dec();
    if (this.registry.remove(s)) {
      this.metrics.users.dec();
      this.bindings.unholdUser(s.userId);
    }
    // Leaves the channels and, with them, the presence groups (ChannelSubscriptions.closed).
    this.channels.closed(s);
  }

  /** Closes every connection whose token expired (one sweep, not a timer per socket). */
  closeExpired(nowSeconds: number): void {
    const expired: Session[] = [];
    for (const s of this.registry.all()) if (s.expiresAt <= nowSeconds && !s.closed) expired.push(s);
    // Closing runs the close handler at once, which edits the registry: not while iterating it.
    for (const s of expired) s.protocol.close(s, 'token-expired', 'token expired');
  }

  /** After a broker reconnect, live messages may be missing: every socket and channel checks the store. */
  resyncAll(): void {
    for (const s of this.registry.all()) if (!s.catchingUp && !s.closed) void this.delivery.catchUp(s);
    this.fanout.resyncAll();
  }

  /**
   * Every connection is asked to reconnect elsewhere after a jittered delay below `drainMs`, so a
   * node's clients do not all land on the others at once, and closed.
   */
  drainAll(drainMs: number): void {
    for (const s of [...this.registry.all()]) {
      if (s.closed) continue;
      s.protocol.drain(s, Math.floor(Math.random() * drainMs));
    }
  }
}
