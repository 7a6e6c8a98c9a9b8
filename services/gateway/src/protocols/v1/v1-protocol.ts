import type { JwtVerifier } from '@notify/auth';
import {
  CloseCode,
  HISTORY_PAGE_DEFAULT,
  encodeNotificationFrame,
  encodePreferencesFrame,
  encodeRetractedFrame,
  type ClientFrame,
  type HistoryFrame,
  type StreamPayload,
  type ReadFrame,
  type ReadyFrame,
  type ReconnectFrame,
  type SubscribedFrame,
  type UnsubscribedFrame,
} from '@notify/protocol';
import type { StoredChannelMessage } from '@notify/store';
import type { ChannelSubscriptions } from '../../core/channels/channel-subscriptions';
import type { Inbox } from '../../core/inbox/inbox';
import type { UserPreferences } from '../../core/inbox/user-preferences';
import type {
  CloseReason,
  HistoryPage,
  PreferencesChange,
  ReadChange,
  ReadyInfo,
  Refusal,
  RetractionChange,
  SubscribedInfo,
} from '../../core/ports';
import type { ProtocolAdapter, UpgradeDecision, UpgradeRequest, Wire } from '../../core/protocol-adapter';
import type { ClientPort, Session } from '../../core/sessions/session';
import type { Acks } from '../../core/user-stream/acks';
import { channelGroup, encodeStoredMessage } from './channel-output';
import { decodeClientFrame } from './decode';
import { presenceGroup, subscribedWithMembers } from './presence-output';
import { closeCodeFor, encodeError } from './refusals';
import { authorizeUpgrade } from './upgrade-auth';

/** What v1 client frames ask of the core. */
export interface V1Core {
  acks: Acks;
  channels: ChannelSubscriptions;
  inbox: Inbox;
  preferences: UserPreferences;
}

/** Protocol v1 (docs/protocol.md): JSON text frames, one object each, with a `type`. */
export class V1Protocol implements ProtocolAdapter, ClientPort {
  constructor(
    private readonly wire: Wire,
    private readonly core: V1Core,
    private readonly verifier: JwtVerifier,
    private readonly allowedOrigins: readonly string[],
  ) {}

  authorize(req: UpgradeRequest): UpgradeDecision {
    const decision = authorizeUpgrade(req, this.verifier, this.allowedOrigins);
    return decision.ok ? { ok: true, fields: decision.fields, port: this } : decision;
  }

  message(s: Session, bytes: ArrayBuffer): void {
    const decoded = decodeClientFrame(bytes);
    if (!decoded.ok) return this.refuse(s, decoded.refusal);
    this.handle(s, decoded.frame);
  }

  private handle(s: Session, f: ClientFrame): void {
    switch (f.type) {
      case 'ping':
        this.wire.send(
          s,
          JSON.stringify(f.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: f.ref }),
        );
        return;
      case 'ack':
        return this.core.acks.ack(s, f.seq, f.ref);
      case 'read':
        return void this.core.inbox.markRead(s, f.ids ? { ids: f.ids } : { upTo: f.upTo ?? 0 }, f.ref);
      case 'history':
        return void this.core.inbox.history(
          s,
          { before: f.before, limit: f.limit ?? HISTORY_PAGE_DEFAULT, unreadOnly: f.unreadOnly ?? false },
          f.ref,
        );
      case 'subscribe':
        return void this.core.channels.subscribe(s, f.channel, f.since, f.ref);
      case 'unsubscribe':
        return this.core.channels.unsubscribe(s, f.channel, f.ref);
      case 'preferences':
        return void this.core.preferences.set(
          s,
          { mutedTopics: f.mutedTopics, quietHours: f.quietHours },
          f.ref,
        );
    }
  }

  ready(s: Session, info: ReadyInfo): void {
    const frame: ReadyFrame = { type: 'ready', userId: s.userId, deviceId: s.deviceId, ...info };
    this.wire.send(s, JSON.stringify(frame));
  }

  liveNotification(s: Session, body: Uint8Array): boolean {
    // Ingest publishes the v1 `notification` frame itself: forwarded without parsing.
    return this.wire.send(s, body);
  }

  storedNotification(s: Session, n: StreamPayload): boolean {
    return this.wire.send(s, encodeNotificationFrame(n));
  }

  readChanged(s: Session, change: ReadChange, ref?: string): void {
    const frame: ReadFrame = {
      type: 'read',
      ids: change.ids,
      unread: change.unread,
      asOfSeq: change.asOfSeq,
    };
    if (ref !== undefined) frame.ref = ref;
    this.wire.send(s, JSON.stringify(frame));
  }

  retracted(s: Session, change: RetractionChange, withCount: boolean): void {
    this.wire.send(s, encodeRetractedFrame(change.ids, withCount ? change : undefined));
  }

  preferences(s: Session, change: PreferencesChange, ref?: string): void {
    this.wire.send(s, encodePreferencesFrame(change.preferences, change.version, ref));
  }

  history(s: Session, page: HistoryPage, ref?: string): void {
    const frame: HistoryFrame = { type: 'history', items: page.items, nextBefore: page.nextBefore };
    if (ref !== undefined) frame.ref = ref;
    this.wire.send(s, JSON.stringify(frame));
  }

  subscribed(s: Session, info: SubscribedInfo, ref?: string): void {
    const frame: SubscribedFrame = { type: 'subscribed', channel: info.channel, offset: info.offset };
    if (info.recovered !== undefined) frame.recovered = info.recovered;
    if (ref !== undefined) frame.ref = ref;
    this.wire.send(s, info.members ? subscribedWithMembers(frame, info.members) : JSON.stringify(frame));
  }

  unsubscribed(s: Session, channel: string, ref?: string): void {
    const frame: UnsubscribedFrame = { type: 'unsubscribed', channel };
    if (ref !== undefined) frame.ref = ref;
    this.wire.send(s, JSON.stringify(frame));
  }

  channelMessage(s: Session, m: StoredChannelMessage): boolean {
    return this.wire.send(s, encodeStoredMessage(m));
  }

  joinChannel(s: Session, channel: string): void {
    this.wire.join(s, channelGroup(channel));
  }

  leaveChannel(s: Session, channel: string): void {
    this.wire.leave(s, channelGroup(channel));
  }

  joinPresence(s: Session, channel: string): void {
    this.wire.join(s, presenceGroup(channel));
  }

  leavePresence(s: Session, channel: string): void {
    this.wire.leave(s, presenceGroup(channel));
  }

  refuse(s: Session, refusal: Refusal): void {
    this.wire.send(s, encodeError(refusal));
  }

  close(s: Session, reason: CloseReason, detail: string): void {
    this.wire.end(s, closeCodeFor(reason), detail);
  }

  drain(s: Session, afterMs: number): void {
    const frame: ReconnectFrame = { type: 'reconnect', afterMs };
    this.wire.sendAndEnd(s, JSON.stringify(frame), CloseCode.GoingAway, 'node draining');
  }
}
