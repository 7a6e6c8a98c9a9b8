import {
  isPresenceChannel,
  type PresenceChangePayload,
  type PresenceFrame,
  type PresenceMemberPayload,
  type SubscribedFrame,
} from '@notify/protocol';
import type { PresenceChange, PresenceMember, PresenceOutput } from '../../core/ports';
import type { Wire } from '../../core/protocol-adapter';

/** The transport group of a presence channel's v1 subscribers. */
export const presenceGroup = (channel: string): string => `p:${channel}`;

export const memberPayload = (m: PresenceMember): PresenceMemberPayload =>
  m.info === undefined ? { userId: m.userId } : { userId: m.userId, info: { ...m.info } };

const changePayload = (c: PresenceChange): PresenceChangePayload =>
  c.event === 'leave' ? { event: 'leave', userId: c.userId } : { event: 'join', ...memberPayload(c.member) };

/**
 * The members' JSON, once per announced list: every subscriber until the next announcement shares
 * it, so a channel of N members filling up costs N serializations of a list less, not N².
 */
const membersJson = new WeakMap<readonly PresenceMember[], string>();

/** The `subscribed` frame of a presence channel, its `members` spliced in from the shared JSON. */
export function subscribedWithMembers(
  frame: SubscribedFrame,
  members: { announced: readonly PresenceMember[]; joiner: PresenceMember | null },
): string {
  let json = membersJson.get(members.announced);
  if (json === undefined) {
    json = members.announced.map((m) => JSON.stringify(memberPayload(m))).join(',');
    membersJson.set(members.announced, json);
  }
  const joiner = members.joiner ? JSON.stringify(memberPayload(members.joiner)) : '';
  const list = json && joiner ? `${json},${joiner}` : json || joiner;
  const head = JSON.stringify(frame);
  return `${head.slice(0, -1)},"members":[${list}]}`;
}

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
