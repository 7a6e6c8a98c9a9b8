import { internalChannel, type PusherApp } from '@notify/pusher';
import type { StoredChannelMessage } from '@notify/store';
import type { ChannelOccupancy } from '../../core/channels/channel-occupancy';
import type { CloseReason, PusherWebhooks, Refusal, RefusalKind, SubscribedInfo } from '../../core/ports';
import type { Wire } from '../../core/protocol-adapter';
import type { FrameRateState } from '../../core/sessions/frame-rate';
import type { ClientPort, Session } from '../../core/sessions/session';
import type { PusherMetrics } from '../../metrics/pusher-metrics';
import { encodeStoredEvent, pusherGroup } from './channel-output';
import {
  encodeEvent,
  encodePusherError,
  encodeSubscriptionError,
  PusherErrorCode,
  type PusherErrorCodeValue,
} from './frames';
import { subscriptionSucceededData } from './presence';
import type { PusherPresenceOutput } from './presence-output';

/** What every Pusher connection of the node shares. */
export interface PusherContext {
  readonly wire: Wire;
  readonly metrics: PusherMetrics;
  /** Subscriber counts of the node's Pusher channels, for the HTTP API; absent when not kept. */
  readonly occupancy: ChannelOccupancy | undefined;
  /** Member changes of presence channels, and who is a member through which local connection. */
  readonly presence: PusherPresenceOutput;
  /** Where client events are reported as webhook events; null when webhooks are off. */
  readonly webhooks: PusherWebhooks | null;
}

/** Why a connection is closed as soon as it opens (Pusher answers these after the handshake). */
export interface OpeningRefusal {
  code: PusherErrorCodeValue;
  message: string;
}

/** A user signed in with `pusher:signin`. */
export interface SignedInUser {
  id: string;
  /** The user's routing key (pusherUserRoutingKey), on which terminate_connections arrives. */
  key: string;
}

const CLOSE_CODES: Readonly<Record<CloseReason, PusherErrorCodeValue>> = {
  'going-away': PusherErrorCode.reconnect,
  'too-big': PusherErrorCode.overCapacity,
  internal: PusherErrorCode.overCapacity,
  'token-expired': PusherErrorCode.unauthorized,
  forbidden: PusherErrorCode.unauthorized,
  'slow-consumer': PusherErrorCode.overCapacity,
  'rate-limited': PusherErrorCode.overCapacity,
  'too-many-connections': PusherErrorCode.overQuota,
};

const STATUS: Readonly<Record<RefusalKind, number>> = {
  bad_request: 400,
  forbidden: 403,
  not_found: 404,
  rate_limited: 429,
  internal: 503,
};

/**
 * One Pusher connection: its state beyond the core's Session, and the core's calls (ClientPort) as
 * Pusher frames. It is the session's `protocol`, so the adapter reaches it from the session.
 */
export class PusherSocket implements ClientPort {
  session: Session | null = null;
  /** Set once the connection is established (empty while it is refused). */
  socketId = '';
  /** rateClock() of the client's last frame. */
  lastSeen = 0;
  /** rateClock() when a pusher:ping went out unanswered, else 0. */
  pingSentAt = 0;
  user: SignedInUser | null = null;
  /** The member id of each presence channel (internal name) this connection is in. */
  memberIds: Map<string, string> | null = null;
  /** The client-event budget (NOTIFY_PUSHER_CLIENT_EVENTS_PER_S). */
  readonly clientEvents: FrameRateState;

  constructor(
    /** Undefined only with a refusal (unknown key). */
    readonly app: PusherApp | undefined,
    readonly refusal: OpeningRefusal | null,
    private readonly ctx: PusherContext,
    clientEvents: FrameRateState,
  ) {
    this.clientEvents = clientEvents;
  }

  send(frame: string | Uint8Array): boolean {
    return this.session !== null && this.ctx.wire.send(this.session, frame);
  }

  /** A pusher:error; the connection stays. */
  error(code: PusherErrorCodeValue | null, message: string): void {
    this.ctx.metrics.errors.inc({ code: code ?? 'none' });
    this.send(encodePusherError(code, message));
  }

  /** A pusher:error, then the close with the same code (what pusher-js decides its reconnect on). */
  end(code: PusherErrorCodeValue, message: string): void {
    if (!this.session) return;
    this.ctx.metrics.errors.inc({ code });
    this.ctx.wire.sendAndEnd(this.session, encodePusherError(code, message), code, message);
  }

  subscriptionError(channel: string, type: string, error: string, status: number): void {
    this.send(encodeSubscriptionError(channel, type, error, status));
  }

  // ClientPort: `ref` is always the Pusher channel name (the internal one is in `info.channel`).

  subscribed(_s: Session, info: SubscribedInfo, ref?: string): void {
    const channel = ref ?? info.channel;
    const data = info.members ? subscriptionSucceededData(info.members) : '{}';
    this.send(encodeEvent('pusher_internal:subscription_succeeded', channel, data));
    // A cache channel's last event is replayed right after this (channelMessage) when it is still in
    // history; otherwise the client hears there is none.
    if (info.recovered !== undefined && (info.offset === 0 || !info.recovered))
      this.send(encodeEvent('pusher:cache_miss', channel, undefined));
  }

  unsubscribed(): void {
    // Pusher answers an unsubscribe with nothing.
  }

  channelMessage(_s: Session, m: StoredChannelMessage): boolean {
    const frame = encodeStoredEvent(m, this.socketId);
    return frame === null || this.send(frame);
  }

  joinChannel(s: Session, channel: string): void {
    this.ctx.wire.join(s, pusherGroup(channel));
    this.ctx.occupancy?.add(channel, 1);
  }

  leaveChannel(s: Session, channel: string): void {
    this.ctx.wire.leave(s, pusherGroup(channel));
    this.ctx.occupancy?.add(channel, -1);
  }

  /** The connection closed while subscribed: the transport dropped its groups, the count goes here. */
  leftOnClose(channel: string): void {
    this.ctx.occupancy?.add(channel, -1);
  }

  /** The connection closed: it is no member here any more (the core's presence saw the close too). */
  leftPresenceOnClose(): void {
    if (!this.session || !this.memberIds) return;
    for (const [channel, userId] of this.memberIds) this.ctx.presence.leave(this.session, channel, userId);
    this.memberIds = null;
  }

  refuse(_s: Session, refusal: Refusal): void {
    if (refusal.ref === undefined) return this.error(null, refusal.message);
    // The core names channels internally (`pusher:<appId>:<name>`); the client knows the name alone.
    const message = this.app
      ? refusal.message.replaceAll(internalChannel(this.app.id, refusal.ref), refusal.ref)
      : refusal.message;
    this.subscriptionError(refusal.ref, 'SubscriptionError', message, STATUS[refusal.kind]);
  }

  close(_s: Session, reason: CloseReason, detail: string): void {
    this.end(CLOSE_CODES[reason], detail);
  }

  drain(): void {
    this.end(PusherErrorCode.reconnect, 'node draining; reconnect');
  }

  // The rest of ClientPort is the native user stream's, which Pusher connections never have.

  ready(): void {}

  liveNotification(): boolean {
    return false;
  }

  storedNotification(): boolean {
    return false;
  }

  readChanged(): void {}

  retracted(): void {}

  preferences(): void {}

  joinPresence(s: Session, channel: string, userId: string): void {
    (this.memberIds ??= new Map()).set(channel, userId);
    this.ctx.presence.join(s, channel, userId);
  }

  leavePresence(s: Session, channel: string): void {
    const userId = this.memberIds?.get(channel);
    if (userId === undefined) return;
    this.memberIds!.delete(channel);
    this.ctx.presence.leave(s, channel, userId);
  }

  history(): void {}
}
