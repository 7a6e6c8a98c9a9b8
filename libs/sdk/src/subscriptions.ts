import { isValidChannelName, type MessageFrame, type SubscribedFrame } from '@notify/protocol';
import type { Link } from './link.js';
import type { Requests } from './requests.js';
import { NotifyError, type ChannelMessage, type SubscriptionStatus } from './types.js';

export interface SubscribeOptions {
  /** Resume after this offset (messages after it still in history are replayed first). */
  since?: number;
  /** Every (re)subscription: `recovered: false` means messages were missed for good. */
  onSubscribed?: (status: SubscriptionStatus) => void;
  /** The subscription was refused (e.g. `forbidden`): it is dropped. */
  onError?: (error: NotifyError) => void;
}

interface SubscriptionEntry {
  onMessage: (message: ChannelMessage) => void;
  options: SubscribeOptions;
}

interface Subscription {
  channel: string;
  /** The highest offset delivered (or skipped past after `recovered: false`); null before the first. */
  offset: number | null;
  entries: Set<SubscriptionEntry>;
}

/** Channel subscriptions, renewed on every connection from the last offset each one received. */
export class Subscriptions {
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(
    private readonly link: Link,
    private readonly requests: Requests,
  ) {}

  /** Adds a handler to `channel` (subscribing if it is the first); returns what removes it. */
  add(channel: string, onMessage: (message: ChannelMessage) => void, options: SubscribeOptions): () => void {
    if (!isValidChannelName(channel)) {
      throw new TypeError(`subscribe: invalid channel name ${JSON.stringify(channel)}`);
    }
    const entry: SubscriptionEntry = { onMessage, options };
    let sub = this.subscriptions.get(channel);
    if (!sub) {
      sub = { channel, offset: options.since ?? null, entries: new Set() };
      this.subscriptions.set(channel, sub);
      if (this.link.isOpen()) this.sendSubscribe(sub);
    }
    sub.entries.add(entry);
    const owner = sub;
    return () => {
      if (!owner.entries.delete(entry) || owner.entries.size > 0) return;
      if (this.subscriptions.get(channel) !== owner) return;
      this.subscriptions.delete(channel);
      if (this.link.isOpen()) {
        const ref = this.requests.track('u', { kind: 'unsubscribe', channel });
        this.link.send({ type: 'unsubscribe', channel, ref });
      }
    };
  }

  /** A connection is ready: every subscription is made again, from its offset. */
  renew(): void {
    for (const sub of this.subscriptions.values()) this.sendSubscribe(sub);
  }

  onSubscribed(frame: SubscribedFrame): void {
    const sub = this.subscriptions.get(frame.channel);
    if (!sub) return;
    const recovered = frame.recovered !== false;
    // Without a resume point, live starts after `offset`; when history no longer covers the gap,
    // skip to it (the app was told to refetch). Otherwise the replay follows.
    if (sub.offset === null || !recovered) sub.offset = frame.offset;
    const status: SubscriptionStatus = { channel: frame.channel, offset: frame.offset, recovered };
    for (const entry of [...sub.entries]) this.call(() => entry.options.onSubscribed?.(status));
    this.link.emit('subscribed', [status]);
  }

  onMessage(frame: MessageFrame): void {
    const sub = this.subscriptions.get(frame.channel);
    if (!sub) return;
    if (sub.offset !== null && frame.offset <= sub.offset) return; // replayed twice: already delivered
    sub.offset = frame.offset;
    const message: ChannelMessage = {
      channel: frame.channel,
      offset: frame.offset,
      id: frame.id,
      data: frame.data,
      createdAt: frame.createdAt,
    };
    for (const entry of [...sub.entries]) this.call(() => entry.onMessage(message));
    this.link.emit('message', [message]);
  }

  /** The server refused a subscribe request. */
  refused(channel: string, code: NotifyError['code'], message: string): void {
    const error = new NotifyError(code, message, { channel });
    const sub = this.subscriptions.get(channel);
    // Refused for good (forbidden, bad name): drop it. Transient (internal, rate limited): the next
    // connection tries again.
    if (sub && (code === 'forbidden' || code === 'bad_request')) {
      this.subscriptions.delete(channel);
      for (const entry of sub.entries) this.call(() => entry.options.onError?.(error));
    }
    this.link.report(error);
  }

  private sendSubscribe(sub: Subscription): void {
    const ref = this.requests.track('s', { kind: 'subscribe', channel: sub.channel });
    this.link.send(
      sub.offset === null
        ? { type: 'subscribe', channel: sub.channel, ref }
        : { type: 'subscribe', channel: sub.channel, since: sub.offset, ref },
    );
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.link.report(new NotifyError('handler', 'a channel handler threw', { cause: err }));
    }
  }
}
