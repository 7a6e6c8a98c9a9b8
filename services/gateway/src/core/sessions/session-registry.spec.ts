import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newSession, type ClientPort, type Session } from './session';
import { SessionRegistry } from './session-registry';

const session = (userId: string, deviceId = 'd'): Session =>
  // The registry never speaks to the client: a port with nothing in it will do.
  newSession({ userId, deviceId, expiresAt: 0, channels: [], since: null }, {} as ClientPort, 10);

const devicesOf = (r: SessionRegistry, userId: string): string[] => {
  const out: string[] = [];
  for (let s = r.firstOf(userId) ?? null; s; s = s.nextOfUser) out.push(s.deviceId);
  return out.sort();
};

describe('SessionRegistry', () => {
  it('keeps each user’s sessions, and says when a user arrives and leaves', () => {
    const r = new SessionRegistry();
    const [a1, a2, a3, b] = [session('a', '1'), session('a', '2'), session('a', '3'), session('b')];
    assert.equal(r.add(a1), true);
    assert.equal(r.add(a2), false);
    assert.equal(r.add(a3), false);
    assert.equal(r.add(b), true);
    assert.deepEqual([r.size, r.userCount, r.countOf('a'), r.countOf('b'), r.countOf('c')], [4, 2, 3, 1, 0]);
    assert.deepEqual(devicesOf(r, 'a'), ['1', '2', '3']);
    assert.equal([...r.all()].length, 4);

    assert.equal(r.remove(a2), false, 'from the middle');
    assert.deepEqual(devicesOf(r, 'a'), ['1', '3']);
    assert.equal(r.remove(a3), false, 'the first');
    assert.equal(r.remove(a3), false, 'twice changes nothing');
    assert.deepEqual([r.size, r.countOf('a')], [2, 1]);
    assert.equal(r.remove(a1), true, 'the last');
    assert.equal(r.firstOf('a'), undefined);
    assert.deepEqual([r.size, r.userCount], [1, 1]);
  });

  it('lets a loop over a user’s sessions remove the current one and still reach the rest', () => {
    // What a send does when it closes a slow consumer: uWS runs the close handler at once.
    for (const closing of ['1', '2', '3']) {
      const r = new SessionRegistry();
      for (const d of ['1', '2', '3']) r.add(session('a', d));
      const reached: string[] = [];
      for (let s = r.firstOf('a') ?? null; s; s = s.nextOfUser) {
        reached.push(s.deviceId);
        if (s.deviceId === closing) r.remove(s);
      }
      assert.deepEqual(reached.sort(), ['1', '2', '3'], `closing ${closing}`);
      assert.equal(r.countOf('a'), 2);
    }
  });
});
