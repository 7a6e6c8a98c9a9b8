import type { JsonLogger } from '@notify/logging';
import { isValidChannelName, type SubscribedFrame, type UnsubscribedFrame } from '@notify/protocol';
import type { ChannelsRepository } from '@notify/store';
import type { Session } from '../session/session';
import type { FrameSender } from '../ws/frame-sender';
import { mayAccessChannel } from './channel-access';
import { encodeStoredMessage, type ChannelFanout, type ChannelNode } from './channel-fanout';

const PAGE = 500;

type Fields = Record<string, unknown>;

/** `subscribe` and `unsubscribe` frames. */
export class ChannelFrames {
  constructor(
    private readonly fanout: ChannelFanout,
    private readonly channels: ChannelsRepository,
    private readonly sender: FrameSender,
    private readonly maxSubscriptions: number,
    private readonly log: JsonLogger,
  ) {}

  async subscribe(s: Session, f: Fields, ref: string | undefined): Promise<void> {
    const name = f.channel;
    if (typeof name !== 'string' || !isValidChannelName(name)) {
      return this.sender.error(
        s,
        'bad_request',
        'channel must be dot-separated words of A-Z a-z 0-9 _ - (≤ 200 chars)',
        ref,
      );
    }
    const since = f.since;
    if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0)) {
      return this.sender.error(s, 'bad_request', 'since must be an offset (integer ≥ 0)', ref);
    }
    if (!mayAccessChannel(s.channels, name)) {
      return this.sender.error(s, 'forbidden', `not allowed to subscribe to "${name}"`, ref);
    }
    if (s.subscriptions?.has(name))
      return this.sender.error(s, 'bad_request', `already subscribed to "${name}"`, ref);
    if ((s.subscriptions?.size ?? 0) >= this.maxSubscriptions) {
      return this.sender.error(
        s,
        'rate_limited',
        `at most ${this.maxSubscriptions} subscriptions per connection`,
        ref,
      );
    }
    const node = this.fanout.acquire(name);
    const subscription = { node, active: false };
    (s.subscriptions ??= new Map()).set(name, subscription);
    try {
      await node.ready;
      // Only a resume point needs the channel's trimmed offset; a live-only subscribe costs no query.
      const trimmedOffset = since === undefined ? 0 : (await this.channels.state(name)).trimmedOffset;
      if (s.closed || s.subscriptions?.get(name) !== subscription) return;
      const frame: SubscribedFrame = { type: 'subscribed', channel: name, offset: node.stream.position };
      let from: number | null = null;
      if (since !== undefined) {
        // Everything after `since` is still in history exactly when nothing after it was trimmed.
        frame.recovered = (since as number) >= trimmedOffset;
        if (frame.recovered) from = Math.min(since as number, node.stream.position);
      }
      if (ref !== undefined) frame.ref = ref;
      this.sender.send(s, JSON.stringify(frame));
      if (from !== null && !(await this.replay(s, node, from, subscription))) return;
      // Synchronously after the last check that the replay reached node.stream.position: no publish can
      // fall between the replayed messages and the live ones.
      s.ws?.subscribe(node.topic);
      subscription.active = true;
    } catch (err) {
      this.log.error('subscribe failed', { channel: name, error: err });
      if (s.subscriptions?.get(name) === subscription) {
        s.subscriptions.delete(name);
        this.fanout.release(node);
      }
      this.sender.error(s, 'internal', `could not subscribe to "${name}"; retry`, ref);
    }
  }

  /** Sends (from, node.stream.position] to this socket alone; false when the socket went away meanwhile. */
  private async replay(s: Session, node: ChannelNode, from: number, subscription: object): Promise<boolean> {
    let position = from;
    while (position < node.stream.position) {
      const rows = await this.channels.listAfter(node.name, position, PAGE);
      if (s.closed || s.subscriptions?.get(node.name) !== subscription) return false;
      const upTo = node.stream.position;
      for (const m of rows) {
        // Newer rows reach this socket through the topic once it is subscribed.
        if (m.offset > upTo) break;
        this.sender.send(s, encodeStoredMessage(m));
        position = m.offset;
      }
      // Trimmed while replaying: nothing more to read below the node's offset.
      if (rows.length === 0) position = upTo;
    }
    return !s.closed;
  }

  unsubscribe(s: Session, f: Fields, ref: string | undefined): void {
    const name = f.channel;
    const subscription = typeof name === 'string' ? s.subscriptions?.get(name) : undefined;
    if (typeof name !== 'string' || !subscription) {
      return this.sender.error(s, 'not_found', `not subscribed to ${JSON.stringify(name ?? null)}`, ref);
    }
    s.subscriptions?.delete(name);
    if (subscription.active) s.ws?.unsubscribe(subscription.node.topic);
    this.fanout.release(subscription.node);
    const frame: UnsubscribedFrame = { type: 'unsubscribed', channel: name };
    if (ref !== undefined) frame.ref = ref;
    this.sender.send(s, JSON.stringify(frame));
  }

  /** The socket closed: uWS drops its topics; the node's references go too. */
  closed(s: Session): void {
    if (!s.subscriptions) return;
    for (const subscription of s.subscriptions.values()) this.fanout.release(subscription.node);
    s.subscriptions = null;
  }
}
