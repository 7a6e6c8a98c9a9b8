import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Wire } from '../../core/protocol-adapter';
import type { Session } from '../../core/sessions/session';
import { parsePresenceMember, subscriptionSucceededData } from './presence';
import { PusherPresenceOutput } from './presence-output';

/** Records what goes out; sessions are opaque tokens with a name. */
class RecordingWire {
  out: string[] = [];
  joined: string[] = [];
  join(s: Session, group: string): void {
    this.joined.push(`${name(s)} ${group}`);
  }
  leave(s: Session, group: string): void {
    this.joined = this.joined.filter((j) => j !== `${name(s)} ${group}`);
  }
  publish(group: string, frame: string): void {
    this.out.push(`all ${group} ${frame}`);
  }
  publishExcept(except: Session, group: string, frame: string): void {
    this.out.push(`all-but-${name(except)} ${group} ${frame}`);
  }
  send(s: Session, frame: string): boolean {
    this.out.push(`${name(s)} ${frame}`);
    return true;
  }
}

const session = (n: string): Session => ({ n, closed: false }) as unknown as Session;
const name = (s: Session): string => (s as unknown as { n: string }).n;
const CH = 'pusher:1:presence-room';

function setup() {
  const wire = new RecordingWire();
  return { wire, output: new PusherPresenceOutput(wire as unknown as Wire) };
}

describe('Pusher presence', () => {
  it('reads channel_data as a member: numeric ids as strings, user_info wrapped, bad ones refused', () => {
    assert.deepEqual(parsePresenceMember('{"user_id":7,"user_info":"x"}'), {
      userId: '7',
      info: { user_info: 'x' },
    });
    assert.deepEqual(parsePresenceMember('{"user_id":"a","user_info":null}'), { userId: 'a' });
    assert.match(String(parsePresenceMember('[1]')), /not a JSON object/);
    assert.match(String(parsePresenceMember('{"user_id":""}')), /user_id must be/);
    assert.match(String(parsePresenceMember('nope')), /not JSON/);
    // What PostgreSQL cannot store is refused here, not by the node's next presence write.
    assert.match(String(parsePresenceMember('{"user_id":"a\\u0000"}')), /user_id must not contain/);
    assert.match(
      String(parsePresenceMember('{"user_id":"a","user_info":{"n":["\\ud800"]}}')),
      /user_info must not/,
    );
    assert.deepEqual(parsePresenceMember('{"user_id":"a","user_info":"\\ud83d\\ude00"}'), {
      userId: 'a',
      info: { user_info: '😀' },
    });
    const big = JSON.stringify({ user_id: 'a', user_info: 'x'.repeat(2000) });
    assert.match(String(parsePresenceMember(big)), /user_info over 1024 bytes/);
  });

  it('answers subscription_succeeded with count, ids and hash, unwrapping user_info', () => {
    const data = subscriptionSucceededData({
      announced: [{ userId: 'a', info: { user_info: { n: 1 } } }, { userId: '__proto__' }],
      joiner: { userId: 'b', info: { user_info: 'x' } },
    });
    assert.equal(
      data,
      '{"presence":{"count":3,"ids":["a","__proto__","b"],"hash":{"a":{"n":1},"__proto__":null,"b":"x"}}}',
    );
  });

  it('sends one frame per change, never to the connections of the member it is about', () => {
    const { wire, output } = setup();
    const [a1, b1, b2, c1] = ['a1', 'b1', 'b2', 'c1'].map(session);
    output.join(a1, CH, 'a');
    output.join(b1, CH, 'b');
    output.join(b2, CH, 'b');
    output.join(c1, CH, 'c');
    output.changed(CH, [
      { event: 'join', member: { userId: 'a', info: { user_info: { n: 1 } } } },
      { event: 'join', member: { userId: 'z' } },
      { event: 'leave', userId: 'b' },
    ]);
    const f = (event: string, data: object) =>
      JSON.stringify({ event, channel: 'presence-room', data: JSON.stringify(data) });
    assert.deepEqual(wire.out, [
      `all-but-a1 pp:${CH} ${f('pusher_internal:member_added', { user_id: 'a', user_info: { n: 1 } })}`,
      `all pp:${CH} ${f('pusher_internal:member_added', { user_id: 'z' })}`,
      `a1 ${f('pusher_internal:member_removed', { user_id: 'b' })}`,
      `c1 ${f('pusher_internal:member_removed', { user_id: 'b' })}`,
    ]);
  });

  it('forgets left connections, and ignores channels that are not Pusher presence channels', () => {
    const { wire, output } = setup();
    const a1 = session('a1');
    output.join(a1, CH, 'a');
    output.leave(a1, CH, 'a');
    assert.deepEqual(wire.joined, []);
    output.changed(CH, [{ event: 'leave', userId: 'x' }]);
    output.changed('presence.room', [{ event: 'leave', userId: 'x' }]);
    assert.deepEqual(wire.out, []);
  });
});
