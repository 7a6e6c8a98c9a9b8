import { fromInternalChannel, pusherChannelKind } from '@notify/pusher';
import type { PresenceChange, PresenceOutput } from '../../core/ports';
import type { Wire } from '../../core/protocol-adapter';
import type { Session } from '../../core/sessions/session';
import { encodeEvent } from './frames';
import { memberAddedData, memberRemovedData } from './presence';

/** The transport group of a presence channel's Pusher members on this node. */
const membersGroup = (internalChannel: string): string => `pp:${internalChannel}`;

/**
 * Presence changes of Pusher `presence-` channels as `pusher_internal:member_added` /
 * `member_removed`, one frame per change (Pusher has no batch frame), published once per node to
 * the channel's local members, except the connections of the member the change is about (Pusher
 * does not tell a member about itself). Also the member ids of the local connections, for that
 * exclusion and for the `user_id` of client events.
 */
export class PusherPresenceOutput implements PresenceOutput {
  /** Per internal channel: the local Pusher connections in it, by member id. */
  private readonly local = new Map<string, Map<string, Set<Session>>>();

  constructor(private readonly wire: Wire) {}

  join(s: Session, channel: string, userId: string): void {
    let users = this.local.get(channel);
    if (!users) this.local.set(channel, (users = new Map()));
    let sessions = users.get(userId);
    if (!sessions) users.set(userId, (sessions = new Set()));
    sessions.add(s);
    this.wire.join(s, membersGroup(channel));
  }

  /** Also when the connection closed (the transport dropped its groups already; leaving is harmless). */
  leave(s: Session, channel: string, userId: string): void {
    const users = this.local.get(channel);
    const sessions = users?.get(userId);
    if (!users || !sessions?.delete(s)) return;
    if (sessions.size === 0) users.delete(userId);
    if (users.size === 0) this.local.delete(channel);
    if (!s.closed) this.wire.leave(s, membersGroup(channel));
  }

  changed(channel: string, changes: readonly PresenceChange[]): void {
    const users = this.local.get(channel);
    if (!users) return;
    const name = fromInternalChannel(channel)?.name;
    if (name === undefined || pusherChannelKind(name) !== 'presence') return;
    for (const c of changes) {
      const frame =
        c.event === 'join'
          ? encodeEvent('pusher_internal:member_added', name, memberAddedData(c.member))
          : encodeEvent('pusher_internal:member_removed', name, memberRemovedData(c.userId));
      this.sendExcept(channel, users, c.event === 'join' ? c.member.userId : c.userId, frame);
    }
  }

  private sendExcept(channel: string, users: Map<string, Set<Session>>, userId: string, frame: string): void {
    const own = users.get(userId);
    if (!own || own.size === 0) return this.wire.publish(membersGroup(channel), frame);
    if (own.size === 1) {
      for (const s of own) this.wire.publishExcept(s, membersGroup(channel), frame);
      return;
    }
    // Rare: the member has several connections here; one send each to the others.
    for (const [id, sessions] of users) if (id !== userId) for (const s of sessions) this.wire.send(s, frame);
  }
}
