import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PresenceChannel } from './presence-channel';

const loaded = (rows: { userId: string; nodeKey: string }[] = []): PresenceChannel => {
  const ch = new PresenceChannel('presence.room');
  ch.loaded(rows, false);
  return ch;
};
const ids = (ch: PresenceChannel): string[] =>
  ch
    .announcedMembers()
    .map((m) => m.userId)
    .sort();

describe('PresenceChannel', () => {
  it('makes a user a member with its first connection anywhere and ends it with its last', () => {
    const ch = loaded();
    ch.addLocal('ada', { name: 'Ada' });
    ch.addLocal('ada', { name: 'other tab' });
    assert.deepEqual(ch.takeChanges(), [{ event: 'join', member: { userId: 'ada', info: { name: 'Ada' } } }]);
    ch.apply({ nodeKey: 'b/1', joins: [{ userId: 'ada' }], leaves: [] });
    ch.removeLocal('ada');
    ch.removeLocal('ada');
    assert.deepEqual(ch.takeChanges(), [], 'still a member through node b');
    ch.apply({ nodeKey: 'b/1', joins: [], leaves: ['ada'] });
    assert.deepEqual(ch.takeChanges(), [{ event: 'leave', userId: 'ada' }]);
    assert.equal(ch.size, 0);
  });

  it('applies another node’s events as set operations: repeated ones change nothing', () => {
    const ch = loaded();
    const join = { nodeKey: 'b/1', joins: [{ userId: 'u' }], leaves: [] };
    ch.apply(join);
    ch.apply(join);
    assert.equal(ch.size, 1);
    assert.equal(ch.takeChanges().length, 1);
    ch.apply({ nodeKey: 'b/1', joins: [], leaves: ['u', 'u', 'never-there'] });
    assert.deepEqual(ch.takeChanges(), [{ event: 'leave', userId: 'u' }]);
  });

  it('cancels a join and a leave of one user within a window, and keeps announcing the rest', () => {
    const ch = loaded([{ userId: 'old', nodeKey: 'b/1' }]);
    ch.addLocal('flicker', undefined);
    ch.removeLocal('flicker');
    ch.dropNode('b/1');
    ch.apply({ nodeKey: 'c/1', joins: [{ userId: 'old' }], leaves: [] });
    assert.deepEqual(ch.takeChanges(), [], 'old left via b and came back via c: no net change');
    assert.deepEqual(ids(ch), ['old']);
  });

  it('gives a joining subscriber the members as announced, so the pending changes apply to it exactly', () => {
    const ch = loaded([
      { userId: 'stays', nodeKey: 'b/1' },
      { userId: 'goes', nodeKey: 'b/1' },
    ]);
    ch.apply({ nodeKey: 'b/1', joins: [{ userId: 'new' }], leaves: ['goes'] });
    assert.deepEqual(ids(ch), ['goes', 'stays'], 'the pending join and leave are not in it yet');
    const changes = ch.takeChanges();
    assert.deepEqual(changes.map((c) => c.event).sort(), ['join', 'leave']);
    assert.deepEqual(ids(ch), ['new', 'stays']);
  });

  it('buffers events while loading and applies them after the snapshot, whichever of the two saw a change', () => {
    const ch = new PresenceChannel('presence.room');
    assert.equal(ch.loading, true);
    // Published after the bind: a join the snapshot also holds, a leave of a row it still holds, and a
    // join then leave it saw neither of.
    ch.apply({ nodeKey: 'b/1', joins: [{ userId: 'in-both' }], leaves: [] });
    ch.apply({ nodeKey: 'b/1', joins: [], leaves: ['left-late'] });
    ch.apply({ nodeKey: 'b/1', joins: [{ userId: 'blip' }], leaves: [] });
    ch.apply({ nodeKey: 'b/1', joins: [], leaves: ['blip'] });
    ch.loaded(
      [
        { userId: 'in-both', nodeKey: 'b/1' },
        { userId: 'left-late', nodeKey: 'b/1' },
        { userId: 'quiet', nodeKey: 'c/1' },
      ],
      false,
    );
    assert.equal(ch.loading, false);
    assert.deepEqual(ids(ch), ['in-both', 'quiet']);
    assert.equal(ch.size, 2);
    assert.deepEqual(ch.takeChanges(), [], 'the first load announces nothing: nobody was told anything');
  });

  it('on a reload announces exactly the difference from before', () => {
    const ch = loaded([
      { userId: 'a', nodeKey: 'b/1' },
      { userId: 'b', nodeKey: 'b/1' },
    ]);
    ch.addLocal('local', undefined);
    ch.takeChanges();
    ch.startBuffering();
    ch.apply({ nodeKey: 'c/1', joins: [{ userId: 'c' }], leaves: [] });
    ch.loaded([{ userId: 'a', nodeKey: 'b/2' }], true);
    const changes = ch
      .takeChanges()
      .map((c) => `${c.event}:${c.event === 'join' ? c.member.userId : c.userId}`);
    assert.deepEqual(changes.sort(), ['join:c', 'leave:b']);
    assert.deepEqual(ids(ch), ['a', 'c', 'local']);
  });

  it('keeps size, the announced list and the changes consistent under any sequence (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), user: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ kind: fc.constant('remove' as const), user: fc.integer({ min: 0, max: 4 }) }),
      fc.record({
        kind: fc.constantFrom('join' as const, 'leave' as const),
        user: fc.integer({ min: 0, max: 4 }),
        node: fc.integer({ min: 0, max: 2 }),
      }),
      fc.record({ kind: fc.constant('drop' as const), node: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('flush' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const ch = loaded();
        const local = new Map<string, number>();
        const remote = new Set<string>();
        // What a subscriber that joined at the start knows, maintained from the changes alone.
        const seen = new Set<string>();
        const flush = () => {
          for (const c of ch.takeChanges()) {
            if (c.event === 'join') {
              assert.ok(!seen.has(c.member.userId), 'a join only for a non-member');
              seen.add(c.member.userId);
            } else {
              assert.ok(seen.delete(c.userId), 'a leave only for a member');
            }
          }
        };
        for (const o of ops) {
          if (o.kind === 'add') {
            ch.addLocal(`u${o.user}`, undefined);
            local.set(`u${o.user}`, (local.get(`u${o.user}`) ?? 0) + 1);
          } else if (o.kind === 'remove') {
            ch.removeLocal(`u${o.user}`);
            const n = (local.get(`u${o.user}`) ?? 0) - 1;
            if (n <= 0) local.delete(`u${o.user}`);
            else local.set(`u${o.user}`, n);
          } else if (o.kind === 'join' || o.kind === 'leave') {
            const e = { nodeKey: `n${o.node}/1`, joins: [] as { userId: string }[], leaves: [] as string[] };
            if (o.kind === 'join') e.joins.push({ userId: `u${o.user}` });
            else e.leaves.push(`u${o.user}`);
            ch.apply(e);
            if (o.kind === 'join') remote.add(`u${o.user}@n${o.node}`);
            else remote.delete(`u${o.user}@n${o.node}`);
          } else if (o.kind === 'drop') {
            ch.dropNode(`n${o.node}/1`);
            for (const k of [...remote]) if (k.endsWith(`@n${o.node}`)) remote.delete(k);
          } else flush();
          assert.deepEqual(ids(ch), [...seen].sort(), 'announced = what subscribers were told');
        }
        flush();
        const expected = new Set([...local.keys(), ...[...remote].map((k) => k.split('@')[0])]);
        assert.deepEqual([...seen].sort(), [...expected].sort());
        assert.equal(ch.size, expected.size);
      }),
      { numRuns: 300 },
    );
  });
});
