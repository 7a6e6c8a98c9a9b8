import type { JsonLogger } from '@notify/logging';
import { presenceTimings } from '@notify/store';
import type { Bindings, PresenceBus, PresenceMember, PresenceOutput, Refusal } from '../ports';
import type { Session } from '../sessions/session';
import { WriteSlot } from '../write-slot';
import { PresenceChannel, type LocalMember } from './presence-channel';
import { nodeIdOfKey, PresenceWriter, type PresenceStore } from './presence-writer';

export interface PresenceOptions {
  nodeId: string;
  /** Members per channel (cluster-wide, as this node knows them); a join past it is refused. */
  maxMembers: number;
  /** NOTIFY_PRESENCE_TTL_S: a dead or partitioned node's members are gone from every other node within it. */
  ttlMs: number;
  /** Presence frames of a channel go out at most once per window (the first change of a quiet channel at once). */
  frameWindowMs: number;
}

export type PresenceJoin =
  /**
   * `members`: as announced so far, shared by every joiner until the next announcement (do not
   * modify). `joiner`: the member just joined, when it is not among them (give it too).
   */
  | { ok: true; members: readonly PresenceMember[]; joiner: PresenceMember | null }
  /** No refusal: the join was withdrawn meanwhile (left, or the session closed). */
  | { ok: false; refusal?: Omit<Refusal, 'ref'> };

/**
 * Presence frames of a busy channel go out at most this often: a storm of joins costs each subscriber
 * ~20 frames a second, not one per join. A quiet channel's first change is not delayed.
 */
export const PRESENCE_FRAME_WINDOW_MS = 50;

/** Dead registrations are remembered this long, so a late event of one is not applied. */
const DEAD_KEY_MS = 10 * 60_000;

interface Joined {
  userId: string;
  /** Counted in the channel's local members (false while the join waits for the channel to load). */
  active: boolean;
}

/**
 * Presence across the cluster, for any protocol: a member identity is given per (session, channel),
 * so the native protocol passes the token's user and info, and the Pusher adapter its signed
 * channel_data. A user is a member while it has a connection in the channel on any live node.
 *
 * State is in PostgreSQL (who is a member via which node registration), changes travel between
 * nodes on the channel's routing key (PresenceBus), and each protocol hears them through its
 * PresenceOutput. See docs/architecture.md, "Presence", for the consistency argument and costs.
 */
export class Presence {
  private readonly channels = new Map<string, PresenceChannel>();
  private readonly joined = new Map<Session, Map<string, Joined>>();
  /** Per channel with frames due: how to cancel the send (a timer, or an immediate for a quiet channel). */
  private readonly frameTimers = new Map<string, () => void>();
  private readonly lastFrames = new Map<string, number>();
  /** When each other node key was first seen here: the liveness check only drops keys seen before it asked. */
  private readonly firstSeen = new Map<string, number>();
  private readonly dead = new Map<string, number>();
  private readonly writer: PresenceWriter;
  private readonly timings: { beatMs: number; staleMs: number };
  private timer: NodeJS.Timeout | null = null;
  /** One liveness check at a time: one that hangs does not pile more up behind it. */
  private readonly liveness = new WriteSlot();
  private readonly checkLivenessOnce = (): Promise<void> => this.checkLiveness();

  constructor(
    private readonly outputs: readonly PresenceOutput[],
    private readonly store: PresenceStore,
    bus: PresenceBus,
    private readonly bindings: Bindings,
    private readonly options: PresenceOptions,
    private readonly log: JsonLogger,
  ) {
    this.timings = presenceTimings(options.ttlMs);
    this.writer = new PresenceWriter(store, bus, this.localMembers(), options.nodeId, log);
  }

  get nodeKey(): string {
    return this.writer.nodeKey;
  }

  /** Registers this process (replacing what an earlier one with this node id left), then beats. */
  async start(): Promise<void> {
    await this.writer.register();
    this.timer = setInterval(() => {
      this.writer.beat();
      this.liveness.tick(this.checkLivenessOnce);
    }, this.timings.beatMs);
    this.timer.unref();
  }

  /** Clean shutdown: the registration and its rows go at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.writer.stop();
  }

  /**
   * Makes `member` a member of `channel` through this session. Resolves with the members the
   * session must be given (as announced so far, plus itself): the caller hands them to the client
   * and joins the session to its protocol's presence group synchronously in the continuation,
   * so that every change announced later reaches it and none before does.
   */
  async join(s: Session, channel: string, member: PresenceMember): Promise<PresenceJoin> {
    let joins = this.joined.get(s);
    if (joins?.has(channel))
      return {
        ok: false,
        refusal: { kind: 'bad_request', message: `already in presence channel "${channel}"` },
      };
    if (!joins) this.joined.set(s, (joins = new Map()));
    const entry: Joined = { userId: member.userId, active: false };
    joins.set(channel, entry);
    const ch = this.acquire(channel);
    await ch.ready;
    if (s.closed || this.joined.get(s)?.get(channel) !== entry) return { ok: false };
    if (!ch.isMember(member.userId) && ch.size >= this.options.maxMembers) {
      this.withdraw(s, channel);
      return {
        ok: false,
        refusal: {
          kind: 'rate_limited',
          message: `presence channel "${channel}" is full (at most ${this.options.maxMembers} members)`,
        },
      };
    }
    const members = ch.announcedMembers();
    const joiner = ch.isAnnounced(member.userId)
      ? null
      : member.info === undefined
        ? { userId: member.userId }
        : member;
    entry.active = true;
    ch.addLocal(member.userId, member.info);
    this.localChanged(ch, member.userId);
    return { ok: true, members, joiner };
  }

  /** The session leaves the channel; returns whether it was in it. */
  leave(s: Session, channel: string): boolean {
    return this.withdraw(s, channel);
  }

  /** The session closed: it leaves every channel it is in. */
  closed(s: Session): void {
    const joins = this.joined.get(s);
    if (!joins) return;
    for (const channel of [...joins.keys()]) this.withdraw(s, channel);
    this.joined.delete(s);
  }

  /** A channel's members as announced on this node, or undefined when no local session is in it. */
  members(channel: string): readonly PresenceMember[] | undefined {
    const ch = this.channels.get(channel);
    return ch && !ch.loading ? ch.announcedMembers() : undefined;
  }

  /** Another node's changes, from the broker. */
  event(channel: string, nodeKey: string, joins: readonly PresenceMember[], leaves: readonly string[]): void {
    const ch = this.channels.get(channel);
    if (!ch || nodeIdOfKey(nodeKey) === this.options.nodeId || this.dead.has(nodeKey)) return;
    this.seen(nodeKey);
    ch.apply({ nodeKey, joins, leaves });
    this.framesDue(ch);
  }

  /** After a broker reconnect: a new registration with the whole local state, and every channel reloaded. */
  reconnected(): void {
    void this.writer.register();
    for (const ch of this.channels.values()) void this.load(ch, true);
  }

  private localMembers() {
    return {
      of: (channel: string, userId: string): LocalMember | undefined =>
        this.channels.get(channel)?.local.get(userId),
      all: function* (this: Presence): Generator<[string, string, LocalMember]> {
        for (const ch of this.channels.values())
          for (const [userId, m] of ch.local) yield [ch.name, userId, m];
      }.bind(this),
    };
  }

  private withdraw(s: Session, channel: string): boolean {
    const joins = this.joined.get(s);
    const entry = joins?.get(channel);
    if (!joins || !entry) return false;
    joins.delete(channel);
    const ch = this.channels.get(channel);
    if (!ch) return true;
    if (entry.active) {
      ch.removeLocal(entry.userId);
      this.localChanged(ch, entry.userId);
    }
    if (--ch.refs === 0) this.drop(ch);
    return true;
  }

  private acquire(channel: string): PresenceChannel {
    let ch = this.channels.get(channel);
    if (!ch) {
      const created = new PresenceChannel(channel);
      this.channels.set(channel, (ch = created));
      // Bind first (events are buffered from now on), then read the snapshot.
      created.ready = this.bindings.acquireChannel(channel).then(() => this.load(created, false));
    }
    ch.refs++;
    return ch;
  }

  private drop(ch: PresenceChannel): void {
    this.channels.delete(ch.name);
    this.frameTimers.get(ch.name)?.();
    this.frameTimers.delete(ch.name);
    this.lastFrames.delete(ch.name);
    this.bindings.releaseChannel(ch.name);
  }

  /** Reads the snapshot (retrying until it succeeds or nobody here wants the channel) and applies it. */
  private async load(ch: PresenceChannel, announce: boolean): Promise<void> {
    if (ch.loadingNow) {
      ch.reloadWanted = true;
      return;
    }
    ch.loadingNow = true;
    try {
      do {
        ch.reloadWanted = false;
        ch.startBuffering();
        const rows = await this.snapshot(ch);
        if (!rows) return;
        const fresh = rows.filter((r) => !this.dead.has(r.nodeKey));
        for (const r of fresh) this.seen(r.nodeKey);
        ch.loaded(fresh, announce);
        this.framesDue(ch);
        announce = true;
      } while (ch.reloadWanted);
    } finally {
      ch.loadingNow = false;
    }
  }

  private async snapshot(ch: PresenceChannel) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.store.snapshot(ch.name, this.options.nodeId, this.timings.staleMs);
      } catch (err) {
        if (this.channels.get(ch.name) !== ch) return null;
        this.log.warn('presence snapshot failed; retrying', { channel: ch.name, attempt, error: err });
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  /**
   * Drops the members of every registration that is no longer live (a node killed, partitioned from
   * the broker, or restarted under a new key). A key first seen after the question was asked is
   * spared: it registered after the answer's snapshot, so its absence there means nothing.
   */
  private async checkLiveness(): Promise<void> {
    const askedAt = Date.now();
    let live: Set<string>;
    try {
      live = new Set(await this.store.reap(this.timings.staleMs));
    } catch (err) {
      return this.log.warn('presence liveness check failed', { error: err });
    }
    for (const [key, firstSeen] of this.firstSeen) {
      if (live.has(key) || firstSeen >= askedAt) continue;
      this.firstSeen.delete(key);
      this.dead.set(key, Date.now());
      this.log.info('presence: node registration gone; its members leave', { nodeKey: key });
      for (const ch of this.channels.values()) {
        ch.dropNode(key);
        this.framesDue(ch);
      }
    }
    for (const [key, at] of this.dead) if (at < askedAt - DEAD_KEY_MS) this.dead.delete(key);
  }

  private seen(nodeKey: string): void {
    if (!this.firstSeen.has(nodeKey)) this.firstSeen.set(nodeKey, Date.now());
  }

  private localChanged(ch: PresenceChannel, userId: string): void {
    this.writer.mark(ch.name, userId);
    this.framesDue(ch);
  }

  /** The first change after a quiet window goes out at the end of this turn, later ones once per window. */
  private framesDue(ch: PresenceChannel): void {
    if (!ch.hasPending || this.frameTimers.has(ch.name)) return;
    const wait = (this.lastFrames.get(ch.name) ?? 0) + this.options.frameWindowMs - Date.now();
    const send = (): void => {
      this.frameTimers.delete(ch.name);
      if (this.channels.get(ch.name) !== ch) return;
      const changes = ch.takeChanges();
      if (changes.length === 0) return;
      this.lastFrames.set(ch.name, Date.now());
      for (const output of this.outputs) output.changed(ch.name, changes);
    };
    if (wait <= 0) {
      const immediate = setImmediate(send);
      this.frameTimers.set(ch.name, () => clearImmediate(immediate));
    } else {
      const timer = setTimeout(send, wait);
      this.frameTimers.set(ch.name, () => clearTimeout(timer));
    }
  }
}
