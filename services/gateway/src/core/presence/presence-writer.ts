import { randomBytes } from 'node:crypto';
import type { JsonLogger } from '@notify/logging';
import type { PresenceRow, PresenceSnapshotRow } from '@notify/store';
import type { PresenceBus, PresenceMember } from '../ports';
import type { LocalMember } from './presence-channel';

/** Where presence state is kept (PostgreSQL: `PresenceRepository`). */
export interface PresenceStore {
  register(nodeId: string, nodeKey: string, rows: readonly PresenceRow[]): Promise<void>;
  beat(nodeKey: string): Promise<boolean>;
  reap(staleMs: number): Promise<string[]>;
  apply(
    nodeKey: string,
    upserts: readonly PresenceRow[],
    deletes: readonly { channel: string; userId: string }[],
  ): Promise<void>;
  snapshot(channel: string, exceptNodeId: string, staleMs: number): Promise<PresenceSnapshotRow[]>;
  leave(nodeId: string): Promise<void>;
}

/** This node's local members, as the writer reads them when it writes. */
export interface LocalMembers {
  of(channel: string, userId: string): LocalMember | undefined;
  all(): Iterable<[channel: string, userId: string, member: LocalMember]>;
}

/** Pause before a failed write or registration is tried again. */
export const PRESENCE_RETRY_MS = 500;

/** The key a node registers under: its id and a random incarnation, new at every registration. */
export const newNodeKey = (nodeId: string): string => `${nodeId}/${randomBytes(6).toString('hex')}`;
export const nodeIdOfKey = (nodeKey: string): string => nodeKey.slice(0, nodeKey.lastIndexOf('/'));

/**
 * This node's presence rows, group-committed: one write in flight, the next batch gathered
 * meanwhile. A change waits only for the end of its event-loop turn when nothing is being written
 * (a join reaches other nodes in a few ms), and under load batches grow by themselves. Each batch
 * writes the final state of every (channel, user) it touched, so a join and a leave within one
 * batch cost nothing, then publishes one broker message per channel with the joins and leaves the
 * batch committed: written first, published after, so a node that reads a snapshot after binding
 * either sees the row or gets the event (docs/architecture.md, "Presence").
 *
 * Registrations, heartbeats and writes run in this one sequence, so they never overtake each other.
 */
export class PresenceWriter {
  private key = '';
  private dirty = new Map<string, Set<string>>();
  /** channel → user → connections as written under the current key. */
  private written = new Map<string, Map<string, number>>();
  private registerWanted = true;
  private beatWanted = false;
  private scheduled = false;
  private inFlight: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly store: PresenceStore,
    private readonly bus: PresenceBus,
    private readonly local: LocalMembers,
    private readonly nodeId: string,
    private readonly log: JsonLogger,
  ) {}

  /** The current registration key ('' before the first). */
  get nodeKey(): string {
    return this.key;
  }

  /** Registers under a new key with every local member and publishes them (start, broker reconnect). */
  register(): Promise<void> {
    this.registerWanted = true;
    return this.idle();
  }

  /** A local member of (channel, user) changed: written and published with the next batch. */
  mark(channel: string, userId: string): void {
    let users = this.dirty.get(channel);
    if (!users) this.dirty.set(channel, (users = new Set()));
    users.add(userId);
    this.kick();
  }

  /** Beats, unless the broker is down: then other nodes must see this node go (see architecture.md). */
  beat(): void {
    if (!this.bus.connected) return;
    this.beatWanted = true;
    this.kick();
  }

  /** Resolves once everything asked so far is written. */
  async idle(): Promise<void> {
    this.kick();
    while (this.inFlight || this.scheduled) await (this.inFlight ?? new Promise((r) => setImmediate(r)));
  }

  async stop(): Promise<void> {
    await this.idle().catch(() => undefined);
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.store.leave(this.nodeId);
  }

  private hasWork(): boolean {
    return this.registerWanted || this.beatWanted || this.dirty.size > 0;
  }

  private kick(): void {
    if (this.inFlight || this.scheduled || this.retryTimer || this.stopped || !this.hasWork()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.inFlight = this.cycle().finally(() => {
        this.inFlight = null;
        this.kick();
      });
    });
  }

  private async cycle(): Promise<void> {
    try {
      if (this.registerWanted) return await this.registerNow();
      if (this.beatWanted) {
        this.beatWanted = false;
        if (!(await this.store.beat(this.key))) {
          this.log.warn('presence registration lost (heartbeat stale); registering again');
          return await this.registerNow();
        }
      }
      await this.flush();
    } catch (err) {
      this.log.warn('presence write failed; will retry', { error: err });
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.kick();
      }, PRESENCE_RETRY_MS);
      this.retryTimer.unref();
    }
  }

  private async registerNow(): Promise<void> {
    const key = newNodeKey(this.nodeId);
    const rows: PresenceRow[] = [];
    for (const [channel, userId, m] of this.local.all()) rows.push(row(channel, userId, m));
    const dirty = this.dirty;
    this.dirty = new Map();
    try {
      await this.store.register(this.nodeId, key, rows);
    } catch (err) {
      for (const [channel, users] of dirty) for (const userId of users) this.mark(channel, userId);
      throw err;
    }
    // Changes made while the rows were written are in `dirty` again: the next batch writes them.
    this.key = key;
    this.registerWanted = false;
    this.written = new Map();
    const joins = new Map<string, PresenceMember[]>();
    for (const r of rows) {
      this.writtenOf(r.channel).set(r.userId, r.connections);
      let list = joins.get(r.channel);
      if (!list) joins.set(r.channel, (list = []));
      list.push(r.info === undefined ? { userId: r.userId } : { userId: r.userId, info: r.info });
    }
    for (const [channel, list] of joins) this.publish(channel, list, []);
  }

  private async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    const dirty = this.dirty;
    this.dirty = new Map();
    const upserts: PresenceRow[] = [];
    const deletes: { channel: string; userId: string }[] = [];
    for (const [channel, users] of dirty) {
      const written = this.written.get(channel);
      for (const userId of users) {
        const m = this.local.of(channel, userId);
        const had = written?.get(userId);
        if (m && had !== m.connections) upserts.push(row(channel, userId, m));
        else if (!m && had !== undefined) deletes.push({ channel, userId });
      }
    }
    if (upserts.length === 0 && deletes.length === 0) return;
    try {
      await this.store.apply(this.key, upserts, deletes);
    } catch (err) {
      for (const [channel, users] of dirty) for (const userId of users) this.mark(channel, userId);
      throw err;
    }
    const events = new Map<string, { joins: PresenceMember[]; leaves: string[] }>();
    const eventOf = (channel: string) => {
      let e = events.get(channel);
      if (!e) events.set(channel, (e = { joins: [], leaves: [] }));
      return e;
    };
    for (const r of upserts) {
      const written = this.writtenOf(r.channel);
      if (!written.has(r.userId))
        eventOf(r.channel).joins.push(
          r.info === undefined ? { userId: r.userId } : { userId: r.userId, info: r.info },
        );
      written.set(r.userId, r.connections);
    }
    for (const d of deletes) {
      const written = this.written.get(d.channel);
      written?.delete(d.userId);
      if (written?.size === 0) this.written.delete(d.channel);
      eventOf(d.channel).leaves.push(d.userId);
    }
    for (const [channel, e] of events) this.publish(channel, e.joins, e.leaves);
  }

  private writtenOf(channel: string): Map<string, number> {
    let written = this.written.get(channel);
    if (!written) this.written.set(channel, (written = new Map()));
    return written;
  }

  /** Not while the broker is down: the registration after the reconnect publishes the whole state. */
  private publish(channel: string, joins: readonly PresenceMember[], leaves: readonly string[]): void {
    if (this.bus.connected) this.bus.publish(channel, this.key, joins, leaves);
  }
}

const row = (channel: string, userId: string, m: LocalMember): PresenceRow =>
  m.info === undefined
    ? { channel, userId, connections: m.connections }
    : { channel, userId, info: m.info, connections: m.connections };
