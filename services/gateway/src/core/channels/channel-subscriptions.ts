import type { JsonLogger } from '@notify/logging';
import { isPresenceChannel } from '@notify/protocol';
import type { ChannelsRepository } from '@notify/store';
import type { PresenceMember, SubscribedInfo } from '../ports';
import type { Presence } from '../presence/presence';
import type { Session } from '../sessions/session';
import { mayAccessChannel } from './channel-access';
import { CHANNEL_PAGE, type ChannelFanout, type ChannelNode } from './channel-fanout';

export interface JoinOptions {
  /** Resume point: the messages after this offset are replayed first. */
  since?: number;
  /** Replay the newest message (instead of `since`). */
  last?: boolean;
  ref?: string;
  /**
   * Join the channel's presence too, as this member (a protocol with its own member identity:
   * Pusher's signed channel_data). Native `presence.*` channels need none: the token says who.
   */
  member?: PresenceMember;
}

/**
 * A connection's channel subscriptions: authorization, limits, history replay, then live. On
 * `presence.*` channels the subscriber is also a member, as its token says (user, `info` claim).
 */
export class ChannelSubscriptions {
  constructor(
    private readonly fanout: ChannelFanout,
    private readonly channels: ChannelsRepository,
    private readonly maxSubscriptions: number,
    private readonly presence: Presence,
    private readonly log: JsonLogger,
  ) {}

  /** `name` is a valid channel name and `since` an offset ≥ 0 (the protocol's decoder checked both). */
  async subscribe(
    s: Session,
    name: string,
    since: number | undefined,
    ref: string | undefined,
  ): Promise<void> {
    if (!mayAccessChannel(s.channels, name)) {
      return s.protocol.refuse(s, {
        kind: 'forbidden',
        message: `not allowed to subscribe to "${name}"`,
        ref,
      });
    }
    return this.join(s, name, { since, ref });
  }

  /**
   * Subscribes without the token's grants, for a protocol that authorized the channel itself (Pusher
   * checks its own signatures). `last`: the channel's newest message is replayed first, when still
   * in history (Pusher's cache channels); `SubscribedInfo.recovered` then says whether it was.
   */
  async join(s: Session, name: string, options: JoinOptions): Promise<void> {
    const { ref, last = false } = options;
    let since = options.since;
    if (s.subscriptions?.has(name))
      return s.protocol.refuse(s, { kind: 'bad_request', message: `already subscribed to "${name}"`, ref });
    if ((s.subscriptions?.size ?? 0) >= this.maxSubscriptions) {
      return s.protocol.refuse(s, {
        kind: 'rate_limited',
        message: `at most ${this.maxSubscriptions} subscriptions per connection`,
        ref,
      });
    }
    const node = this.fanout.acquire(name);
    const subscription = { node, active: false };
    (s.subscriptions ??= new Map()).set(name, subscription);
    try {
      await node.ready;
      if (last) since = Math.max(0, node.stream.position - 1);
      // Only a resume point needs the channel's trimmed offset; a live-only subscribe costs no query.
      const trimmedOffset = since === undefined ? 0 : (await this.channels.state(name)).trimmedOffset;
      if (s.closed || s.subscriptions?.get(name) !== subscription) return;
      const info: SubscribedInfo = { channel: name, offset: node.stream.position };
      const member =
        options.member ?? (isPresenceChannel(name) ? { userId: s.userId, info: s.info } : undefined);
      if (member) {
        // The last wait: from its answer to joining the presence group nothing may be announced.
        const joined = await this.presence.join(s, name, member);
        if (!joined.ok) {
          if (s.subscriptions?.get(name) !== subscription) return;
          s.subscriptions.delete(name);
          this.fanout.release(node);
          if (joined.refusal) s.protocol.refuse(s, { ...joined.refusal, ref });
          return;
        }
        info.members = { announced: joined.members, joiner: joined.joiner };
        info.offset = node.stream.position;
      }
      let from: number | null = null;
      if (since !== undefined) {
        // Everything after `since` is still in history exactly when nothing after it was trimmed.
        info.recovered = since >= trimmedOffset;
        if (info.recovered) from = Math.min(since, node.stream.position);
      }
      s.protocol.subscribed(s, info, ref);
      // Writing `subscribed` can close the socket then and there (its send buffer over the limit): the
      // close already released this subscription, and nothing may join on the dead socket's behalf.
      if (s.closed || s.subscriptions?.get(name) !== subscription) return;
      if (member) s.protocol.joinPresence(s, name, member.userId);
      if (from !== null && !(await this.replay(s, node, from, subscription))) return;
      // Synchronously after the last check that the replay reached node.stream.position: no publish can
      // fall between the replayed messages and the live ones.
      s.protocol.joinChannel(s, name);
      subscription.active = true;
    } catch (err) {
      this.log.error('subscribe failed', { channel: name, error: err });
      if (s.subscriptions?.get(name) === subscription) {
        s.subscriptions.delete(name);
        this.fanout.release(node);
        if (this.presence.leave(s, name)) s.protocol.leavePresence(s, name);
      }
      s.protocol.refuse(s, { kind: 'internal', message: `could not subscribe to "${name}"; retry`, ref });
    }
  }

  /** Sends (from, node.stream.position] to this socket alone; false when the socket went away meanwhile. */
  private async replay(s: Session, node: ChannelNode, from: number, subscription: object): Promise<boolean> {
    let position = from;
    while (position < node.stream.position) {
      const rows = await this.channels.listAfter(node.name, position, CHANNEL_PAGE);
      if (s.closed || s.subscriptions?.get(node.name) !== subscription) return false;
      const upTo = node.stream.position;
      for (const m of rows) {
        // Newer rows reach this socket live once it has joined the channel.
        if (m.offset > upTo) break;
        s.protocol.channelMessage(s, m);
        position = m.offset;
      }
      // Trimmed while replaying: nothing more to read below the node's offset.
      if (rows.length === 0) position = upTo;
    }
    return !s.closed;
  }

  unsubscribe(s: Session, name: string, ref: string | undefined): void {
    const subscription = s.subscriptions?.get(name);
    if (!subscription) {
      return s.protocol.refuse(s, {
        kind: 'not_found',
        message: `not subscribed to ${JSON.stringify(name)}`,
        ref,
      });
    }
    s.subscriptions?.delete(name);
    if (subscription.active) s.protocol.leaveChannel(s, name);
    if (this.presence.leave(s, name)) s.protocol.leavePresence(s, name);
    this.fanout.release(subscription.node);
    s.protocol.unsubscribed(s, name, ref);
  }

  /** The connection closed: the transport dropped its live channels; the node's references go too. */
  closed(s: Session): void {
    this.presence.closed(s);
    if (!s.subscriptions) return;
    for (const subscription of s.subscriptions.values()) this.fanout.release(subscription.node);
    s.subscriptions = null;
  }
}
