import type { PresenceInfo, PresenceSnapshotRow } from '@notify/store';
import type { PresenceChange, PresenceMember } from '../ports';

/** A user's connections in the channel on this node, and the info its first one joined with. */
export interface LocalMember {
  info: PresenceInfo | undefined;
  connections: number;
}

/** What another node said about the channel (one broker message: one window of its changes). */
export interface PresenceEvent {
  nodeKey: string;
  joins: readonly PresenceMember[];
  leaves: readonly string[];
}

/**
 * A change subscribers have not been told yet. Exactly the users whose membership differs from what
 * was announced have one, so a second change of the same user cancels the first (join + leave in one
 * window: nothing is sent). A pending leave keeps the info that was announced.
 */
type Pending = { event: 'join' } | { event: 'leave'; info: PresenceInfo | undefined };

const member = (userId: string, info: PresenceInfo | undefined): PresenceMember =>
  info === undefined ? { userId } : { userId, info };

/**
 * One presence channel as this node sees it: the membership arithmetic, without I/O.
 *
 * Membership is kept per node, not per connection: a user is a member while this node has a local
 * connection of it, or some other node (its registration key) says it has one. Another node's
 * events are set operations on that (user, node) pair, so applying one twice changes nothing, which
 * is what lets a snapshot and the events buffered around it overlap.
 */
export class PresenceChannel {
  readonly local = new Map<string, LocalMember>();
  /** user → the other nodes that hold it, with the info each has. */
  private readonly remote = new Map<string, Map<string, PresenceInfo | undefined>>();
  private readonly byNode = new Map<string, Set<string>>();
  private readonly pending = new Map<string, Pending>();
  /** Set while a snapshot is being read: other nodes' events wait here, in arrival order. */
  private buffered: PresenceEvent[] | null = [];
  private members = 0;
  /** The announced list, shared by every joiner until the next announcement (a join reads it, O(1)). */
  private announcedCache: readonly PresenceMember[] | null = null;
  /** Local (session, channel) joins holding the channel on this node, reserved ones included. */
  refs = 0;
  ready: Promise<void> = Promise.resolve();
  /** A load is running; `reloadWanted` asks it to run once more (a reconnect came meanwhile). */
  loadingNow = false;
  reloadWanted = false;

  constructor(readonly name: string) {}

  /** Members cluster-wide, as this node knows them (local and remote, each user once). */
  get size(): number {
    return this.members;
  }

  get loading(): boolean {
    return this.buffered !== null;
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  isMember(userId: string): boolean {
    return this.local.has(userId) || this.remote.has(userId);
  }

  infoOf(userId: string): PresenceInfo | undefined {
    const local = this.local.get(userId);
    if (local) return local.info;
    const nodes = this.remote.get(userId);
    if (nodes) for (const info of nodes.values()) return info;
    return undefined;
  }

  /** Node keys that hold members here (for the liveness check). */
  nodeKeys(): IterableIterator<string> {
    return this.byNode.keys();
  }

  addLocal(userId: string, info: PresenceInfo | undefined): void {
    const was = this.isMember(userId);
    const before = was ? this.infoOf(userId) : undefined;
    const m = this.local.get(userId);
    if (m) m.connections++;
    else this.local.set(userId, { info, connections: 1 });
    this.changed(userId, was, before);
  }

  removeLocal(userId: string): void {
    const m = this.local.get(userId);
    if (!m) return;
    const before = this.infoOf(userId);
    if (--m.connections === 0) this.local.delete(userId);
    this.changed(userId, true, before);
  }

  /** Another node's event: applied now, or after the snapshot while one is read. */
  apply(event: PresenceEvent): void {
    if (this.buffered) this.buffered.push(event);
    else this.applyEvent(event, true);
  }

  /** Another node is gone: its members leave (those it was the last node of). */
  dropNode(nodeKey: string): void {
    const users = this.byNode.get(nodeKey);
    if (!users) return;
    for (const userId of [...users]) this.removeRemote(userId, nodeKey, true);
  }

  /** From now on other nodes' events wait for `loaded` (a snapshot is about to be read). */
  startBuffering(): void {
    this.buffered ??= [];
  }

  /**
   * The snapshot read after the channel's key was bound (or after a reconnect), then the events
   * buffered meanwhile, in order. The remote view becomes exactly that. With `announce`, every user
   * whose membership differs from before becomes a pending change; without (the first load, before
   * any local subscriber is told anything) the result is simply what is announced.
   */
  loaded(rows: readonly PresenceSnapshotRow[], announce: boolean): void {
    const buffered = this.buffered ?? [];
    this.buffered = null;
    this.announcedCache = null;
    const before = new Map<string, PresenceInfo | undefined>();
    if (announce) for (const userId of this.remote.keys()) before.set(userId, this.infoOf(userId));
    this.remote.clear();
    this.byNode.clear();
    for (const row of rows) this.setRemote(row.userId, row.nodeKey, row.info);
    for (const event of buffered) this.applyEvent(event, false);
    this.members = this.local.size;
    for (const userId of this.remote.keys()) if (!this.local.has(userId)) this.members++;
    if (!announce) return;
    for (const [userId, info] of before) {
      if (!this.local.has(userId) && !this.remote.has(userId)) this.recordChange(userId, true, info);
    }
    for (const userId of this.remote.keys()) {
      if (!this.local.has(userId) && !before.has(userId)) this.recordChange(userId, false, undefined);
    }
  }

  /** The changes not yet announced, which are announced by this call. */
  takeChanges(): PresenceChange[] {
    const changes: PresenceChange[] = [];
    for (const [userId, p] of this.pending) {
      changes.push(
        p.event === 'join'
          ? { event: 'join', member: member(userId, this.infoOf(userId)) }
          : { event: 'leave', userId },
      );
    }
    this.pending.clear();
    if (changes.length > 0) this.announcedCache = null;
    return changes;
  }

  /**
   * The members as announced so far: what a subscriber joining the channel's group now must be
   * given, so that the pending changes, sent to the group next, apply to it exactly. The pending
   * changes are exactly where it differs from the current state, so it changes only when they are
   * announced (or a load replaces the view): the list is built once per announcement, not per joiner.
   */
  announcedMembers(): readonly PresenceMember[] {
    return (this.announcedCache ??= Object.freeze(this.listAnnounced()));
  }

  /** Whether `userId` is in the announced list. */
  isAnnounced(userId: string): boolean {
    const p = this.pending.get(userId);
    return p ? p.event === 'leave' : this.isMember(userId);
  }

  private listAnnounced(): PresenceMember[] {
    const out: PresenceMember[] = [];
    for (const [userId, m] of this.local) {
      if (this.pending.get(userId)?.event !== 'join') out.push(member(userId, m.info));
    }
    for (const userId of this.remote.keys()) {
      if (!this.local.has(userId) && this.pending.get(userId)?.event !== 'join')
        out.push(member(userId, this.infoOf(userId)));
    }
    for (const [userId, p] of this.pending) if (p.event === 'leave') out.push(member(userId, p.info));
    return out;
  }

  private applyEvent(event: PresenceEvent, announce: boolean): void {
    for (const m of event.joins) this.addRemote(m.userId, event.nodeKey, m.info, announce);
    for (const userId of event.leaves) this.removeRemote(userId, event.nodeKey, announce);
  }

  private addRemote(
    userId: string,
    nodeKey: string,
    info: PresenceInfo | undefined,
    announce: boolean,
  ): void {
    const was = this.isMember(userId);
    const before = was ? this.infoOf(userId) : undefined;
    this.setRemote(userId, nodeKey, info);
    if (announce) this.changed(userId, was, before);
  }

  private setRemote(userId: string, nodeKey: string, info: PresenceInfo | undefined): void {
    let nodes = this.remote.get(userId);
    if (!nodes) this.remote.set(userId, (nodes = new Map()));
    nodes.set(nodeKey, info);
    let users = this.byNode.get(nodeKey);
    if (!users) this.byNode.set(nodeKey, (users = new Set()));
    users.add(userId);
  }

  private removeRemote(userId: string, nodeKey: string, announce: boolean): void {
    const nodes = this.remote.get(userId);
    if (!nodes?.has(nodeKey)) return;
    const before = this.infoOf(userId);
    nodes.delete(nodeKey);
    if (nodes.size === 0) this.remote.delete(userId);
    const users = this.byNode.get(nodeKey);
    users?.delete(userId);
    if (users?.size === 0) this.byNode.delete(nodeKey);
    if (announce) this.changed(userId, true, before);
  }

  private changed(userId: string, was: boolean, before: PresenceInfo | undefined): void {
    const now = this.isMember(userId);
    if (was === now) return;
    this.members += now ? 1 : -1;
    this.recordChange(userId, was, before);
  }

  private recordChange(userId: string, was: boolean, before: PresenceInfo | undefined): void {
    // A pending change exists exactly when the announced state differs: this change undoes it.
    if (this.pending.delete(userId)) return;
    this.pending.set(userId, was ? { event: 'leave', info: before } : { event: 'join' });
  }
}
