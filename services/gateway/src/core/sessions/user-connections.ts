import type { JsonLogger } from '@notify/logging';
import type { UserConnectionRow } from '@notify/store';
import { WriteSlot } from '../write-slot';
import type { ConnectionIds } from './connection-ids';
import type { Session } from './session';

/** How often opens and closes are written: the lag with which other nodes see them. */
export const USER_CONNECTIONS_FLUSH_MS = 200;

/** Where the connections of users on nodes are kept (PostgreSQL: `UserConnectionsRepository`). */
export interface UserConnectionsStore {
  heartbeat(nodeId: string, ttlMs: number): Promise<{ wasAlive: boolean }>;
  apply(nodeId: string, opened: readonly UserConnectionRow[], closedIds: readonly string[]): Promise<void>;
  replaceNode(nodeId: string, rows: readonly UserConnectionRow[]): Promise<void>;
  leave(nodeId: string): Promise<void>;
}

export interface UserConnectionsOptions {
  nodeId: string;
  /** A node whose heartbeat is older than this is dead: its connections stop counting and are deleted. */
  nodeTtlMs: number;
  /** Opens and closes are written together this often. */
  flushMs: number;
  /** After a heartbeat found the node dead: whatever else the node wrote may be gone too. */
  onRevived?: () => void;
}

/**
 * This node's connections of users, as the rest of the cluster sees them (`user_connections`), and
 * the node's heartbeat. Opens and closes are coalesced and written once per flush interval, like the
 * device cursors: a connection costs one row insert and one row delete, shared with every other
 * connection of that interval, and nothing at all when it closes within the interval it opened in.
 * Never a write per frame. Writes and heartbeats run one at a time (WriteSlot): a tick that finds one
 * in flight is not queued behind it, its work runs once that one ends.
 */
export class UserConnections {
  private opening = new Map<number, Session>();
  private closing = new Set<number>();
  private readonly writes = new WriteSlot();
  private timers: NodeJS.Timeout[] = [];
  /** Set while the node's rows may be incomplete (a rewrite failed): the next heartbeat rewrites them. */
  private rewrite = false;

  constructor(
    private readonly store: UserConnectionsStore,
    private readonly ids: ConnectionIds,
    /** Every open session of the node: what the node writes again when its rows may be gone. */
    private readonly live: () => Iterable<Session>,
    private readonly options: UserConnectionsOptions,
    private readonly log: JsonLogger,
  ) {}

  /** Beats once and removes whatever an earlier process with this node id left, then runs the timers. */
  async start(): Promise<void> {
    await this.writes.run(async () => {
      await this.store.heartbeat(this.options.nodeId, this.options.nodeTtlMs);
      await this.replaceAll();
    });
    const every = (ms: number, write: () => Promise<void>): void => {
      const timer = setInterval(() => this.writes.tick(write), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.flushMs, this.writeChanges);
    every(Math.max(1, Math.floor(this.options.nodeTtlMs / 3)), this.beat);
  }

  opened(s: Session): void {
    this.opening.set(s.connectionNumber, s);
  }

  closed(s: Session): void {
    // Opened and closed within one interval: the row was never written and never will be.
    if (!this.opening.delete(s.connectionNumber)) this.closing.add(s.connectionNumber);
  }

  flush(): Promise<void> {
    return this.writes.run(this.writeChanges);
  }

  private readonly writeChanges = async (): Promise<void> => {
    if (this.opening.size === 0 && this.closing.size === 0) return;
    const opened = this.opening;
    const closed = this.closing;
    this.opening = new Map();
    this.closing = new Set();
    try {
      await this.store.apply(
        this.options.nodeId,
        [...opened.values()].map((s) => this.rowOf(s)),
        [...closed].map((n) => this.ids.uuidOf(n)),
      );
    } catch (err) {
      // Back into the next write; a connection that closed meanwhile needs neither row nor delete.
      for (const [n, s] of opened) if (!this.closing.delete(n)) this.opening.set(n, s);
      for (const n of closed) this.closing.add(n);
      this.log.warn('user connections write failed; will retry', {
        opened: opened.size,
        closed: closed.size,
        error: err,
      });
    }
  };

  /**
   * Beats the heartbeat (and deletes dead nodes). If this node was not alive before the beat (it
   * missed heartbeats for a TTL, e.g. while the store was unreachable), another node may have deleted
   * its rows: it writes its whole set again.
   */
  heartbeat(): Promise<void> {
    return this.writes.run(this.beat);
  }

  private readonly beat = async (): Promise<void> => {
    try {
      const { wasAlive } = await this.store.heartbeat(this.options.nodeId, this.options.nodeTtlMs);
      if (!wasAlive) this.options.onRevived?.();
      if (!wasAlive || this.rewrite) await this.replaceAll();
    } catch (err) {
      this.log.warn('node heartbeat failed; will retry', { error: err });
    }
  };

  /** Clean shutdown: the node's row and connections are deleted at once, not after the TTL. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.writes.run(() => this.store.leave(this.options.nodeId));
  }

  private async replaceAll(): Promise<void> {
    // Every live session is in the set written, and closed ones are not: nothing pending remains.
    this.opening = new Map();
    this.closing = new Set();
    const rows: UserConnectionRow[] = [];
    for (const s of this.live()) rows.push(this.rowOf(s));
    this.rewrite = true;
    await this.store.replaceNode(this.options.nodeId, rows);
    this.rewrite = false;
  }

  private rowOf(s: Session): UserConnectionRow {
    return { connectionId: this.ids.uuidOf(s.connectionNumber), userId: s.userId, deviceId: s.deviceId };
  }
}
