import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { catchUp, newStreamCursor, onLive, type StoreSource } from './ordered-stream';

/** A store holding `numbers`, whose fetches can be interleaved with live traffic via `during`. */
function store(
  numbers: number[],
  during?: (call: number) => void,
): StoreSource<number> & { delivered: number[] } {
  let calls = 0;
  const delivered: number[] = [];
  return {
    delivered,
    async fetchAfter(after, limit) {
      const result = numbers.filter((n) => n > after).slice(0, limit);
      during?.(calls++);
      return result;
    },
    numberOf: (n) => n,
    deliver: (n) => (delivered.push(n), true),
  };
}

describe('ordered stream', () => {
  it('holds live numbers while catching up, then delivers in order without duplicates', async () => {
    const c = newStreamCursor();
    const committed = [1, 2, 3];
    const s = store(committed, (call) => {
      if (call === 0) {
        // 4 commits and arrives live while the first query is in flight (its snapshot missed it).
        committed.push(4);
        assert.equal(onLive(c, 4), 'held');
      }
    });
    assert.equal(await catchUp(c, s, 100), true);
    assert.deepEqual(s.delivered, [1, 2, 3, 4]);
    assert.equal(onLive(c, 4), 'duplicate');
    assert.equal(onLive(c, 5), 'deliver');
  });

  it('turns a live gap into a catch-up that fills it', async () => {
    const c = { position: 5, target: 0, catchingUp: false };
    assert.equal(onLive(c, 8), 'gap');
    const s = store([6, 7, 8]);
    await catchUp(c, s, 100);
    assert.deepEqual(s.delivered, [6, 7, 8]);
    assert.equal(c.position, 8);
  });

  it('skips a known target the store no longer has (expired or trimmed) instead of waiting', async () => {
    const c = { position: 2, target: 0, catchingUp: false };
    assert.equal(onLive(c, 5), 'gap');
    const s = store([3]); // 4 and 5 expired before the query
    await catchUp(c, s, 100);
    assert.deepEqual(s.delivered, [3]);
    assert.equal(c.position, 5);
    assert.equal(c.catchingUp, false);
  });

  it('reads page after page and stops when the consumer goes away', async () => {
    const c = newStreamCursor();
    const all = Array.from({ length: 25 }, (_, i) => i + 1);
    const s = store(all);
    await catchUp(c, s, 10);
    assert.deepEqual(s.delivered, all);
    const gone = { ...store(all), deliver: (n: number) => n < 3 };
    assert.equal(await catchUp(newStreamCursor(), gone, 10), false);
  });
});
