import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Wire } from '../../core/protocol-adapter';
import { subscribedWithMembers, V1PresenceOutput } from './presence-output';

function recordingWire(): { wire: Wire; published: [string, unknown][] } {
  const published: [string, unknown][] = [];
  const wire = {
    publish: (group: string, frame: string | Uint8Array) =>
      published.push([group, JSON.parse(String(frame))]),
  } as unknown as Wire;
  return { wire, published };
}

describe('v1 presence frames', () => {
  it('sends one change in the single-change shape and several as `changes`, to the channel’s group', () => {
    const { wire, published } = recordingWire();
    const output = new V1PresenceOutput(wire);
    output.changed('presence.room', [{ event: 'join', member: { userId: 'ada', info: { name: 'Ada' } } }]);
    output.changed('presence.room', [
      { event: 'leave', userId: 'ada' },
      { event: 'join', member: { userId: 'bob' } },
    ]);
    output.changed('pusher:1:presence-room', [{ event: 'leave', userId: 'x' }]);
    assert.deepEqual(published, [
      [
        'p:presence.room',
        { type: 'presence', channel: 'presence.room', event: 'join', userId: 'ada', info: { name: 'Ada' } },
      ],
      [
        'p:presence.room',
        {
          type: 'presence',
          channel: 'presence.room',
          changes: [
            { event: 'leave', userId: 'ada' },
            { event: 'join', userId: 'bob' },
          ],
        },
      ],
    ]);
  });

  it('splices the shared member list and the joiner into `subscribed`, as JSON.stringify would write it', () => {
    const announced = Object.freeze([{ userId: 'a', info: { n: 1 } }, { userId: 'b' }]);
    const frame = { type: 'subscribed' as const, channel: 'presence.room', offset: 3, ref: 'r"1' };
    for (const joiner of [null, { userId: 'c', info: { q: '"' } }]) {
      const members = [...announced, ...(joiner ? [joiner] : [])];
      assert.equal(
        subscribedWithMembers(frame, { announced, joiner }),
        JSON.stringify({ ...frame, members }),
      );
    }
    assert.deepEqual(JSON.parse(subscribedWithMembers(frame, { announced: [], joiner: null })).members, []);
    assert.deepEqual(
      JSON.parse(subscribedWithMembers(frame, { announced: [], joiner: { userId: 'z' } })).members,
      [{ userId: 'z' }],
    );
  });
});
