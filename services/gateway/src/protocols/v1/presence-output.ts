import {
  isPresenceChannel,
  type PresenceChangePayload,
  type PresenceFrame,
  type PresenceMemberPayload,
} from '@notify/protocol';
import type { PresenceChange, PresenceMember, PresenceOutput } from '../../core/ports';
import type { Wire } from '../../core/protocol-adapter';

/** The transport group of a presence channel's v1 subscribers. */
export const presenceGroup = (channel: string): string => `p:${channel}`;

export const memberPayload = (m: PresenceMember): PresenceMemberPayload =>
  m.info === undefined ? { userId: m.userId } : { userId: m.userId, info: { ...m.info } };

const changePayload = (c: PresenceChange): PresenceChangePayload =>
  c.event === 'leave' ? { event: 'leave', userId: c.userId } : { event: 'join', ...memberPayload(c.member) };

/** Presence changes as v1 `presence` frames: one publish per window and channel, whatever the subscribers. */
export class V1PresenceOutput implements PresenceOutput {
  constructor(private readonly wire: Wire) {}

  changed(channel: string, changes: readonly PresenceChange[]): void {
    if (!isPresenceChannel(channel) || changes.length === 0) return;
    const frame: PresenceFrame =
      changes.length === 1
        ? { type: 'presence', channel, ...changePayload(changes[0]) }
        : { type: 'presence', channel, changes: changes.map(changePayload) };
    this.wire.publish(presenceGroup(channel), JSON.stringify(frame));
  }
}
