import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher, type BatcherOptions } from './batcher';

/** A writer whose writes finish only when released, recording what each one was given. */
function gatedWriter(fail?: (items: readonly number[]) => Error | undefined): {
  writes: number[][];
  release(): void;
  write(items: readonly number[]): Promise<string[]>;
} {
  const writes: number[][] = [];
  let gates: (() => void)[] = [];
  return {
    writes,
    release() {
      const open = gates;
      gates = [];
      for (const g of open) g();
    },
    write(items) {
      writes.push([...items]);
      return new Promise((resolve, reject) => {
        gates.push(() => {
          const err = fail?.(items);
          if (err) reject(err);
          else resolve(items.map((i) => `r${i}`));
        });
      });
    },
  };
}

const options = (over: Partial<BatcherOptions> = {}): BatcherOptions => ({
  maxItems: 100,
  maxInFlight: 1,
  isTransient: (err) => (err as Error).message === 'connection lost',
  ...over,
});

/** Two event-loop turns: whatever the batcher scheduled in this one (setImmediate) has run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(() => setImmediate(r)));

describe('Batcher', () => {
  it('writes a lone request at the end of its event-loop turn, without waiting for company', async () => {
    const w = gatedWriter();
    const gc = new Batcher(w.write, options());
    const one = gc.submit([1, 2]);
    await settle();
    assert.deepEqual(w.writes, [[1, 2]]);
    w.release();
    assert.deepEqual(await one, ['r1', 'r2']);
  });

  it('puts the requests of one event-loop turn in one write, even with slots free', async () => {
    const w = gatedWriter();
    const sizes: number[] = [];
    const gc = new Batcher(w.write, options({ maxInFlight: 2, onWrite: (n) => sizes.push(n) }));
    const turn = [gc.submit([1]), gc.submit([2, 3]), gc.submit([4])];
    await settle();
    assert.deepEqual(w.writes, [[1, 2, 3, 4]], 'not [1] and [2, 3] alone, then [4]');
    const next = gc.submit([5]);
    await settle();
    assert.deepEqual(w.writes, [[1, 2, 3, 4], [5]], 'the second slot takes the next turn at once');
    w.release();
    assert.deepEqual(await Promise.all([...turn, next]), [['r1'], ['r2', 'r3'], ['r4'], ['r5']]);
    assert.deepEqual(sizes, [4, 1]);
  });

  it('merges requests that arrive during a write into the next one, and hands each its own results', async () => {
    const w = gatedWriter();
    const sizes: number[] = [];
    const gc = new Batcher(w.write, options({ onWrite: (n) => sizes.push(n) }));
    const first = gc.submit([1]);
    await settle();
    const later = [gc.submit([2, 3]), gc.submit([4]), gc.submit([5, 6, 7])];
    await settle();
    assert.equal(w.writes.length, 1, 'the others wait for the running write');
    w.release();
    assert.deepEqual(await first, ['r1']);
    await settle();
    assert.deepEqual(w.writes, [[1], [2, 3, 4, 5, 6, 7]]);
    w.release();
    assert.deepEqual(await Promise.all(later), [['r2', 'r3'], ['r4'], ['r5', 'r6', 'r7']]);
    assert.deepEqual(sizes, [1, 6]);
  });

  it('keeps a batch within maxItems and runs up to maxInFlight writes at once', async () => {
    const w = gatedWriter();
    const gc = new Batcher(w.write, options({ maxItems: 3, maxInFlight: 2 }));
    const all = [gc.submit([1]), gc.submit([2]), gc.submit([3, 4]), gc.submit([5]), gc.submit([6, 7, 8, 9])];
    await settle();
    // One turn's requests, cut at maxItems, fill both slots.
    assert.deepEqual(w.writes, [
      [1, 2],
      [3, 4, 5],
    ]);
    w.release();
    await settle();
    // A request larger than maxItems still goes, alone.
    assert.deepEqual(w.writes.slice(2), [[6, 7, 8, 9]]);
    w.release();
    assert.equal((await Promise.all(all)).flat().length, 9);
  });

  it('splits a batch that failed on one request’s data, so only that request fails', async () => {
    const w = gatedWriter((items) => (items.includes(13) ? new Error('invalid byte sequence') : undefined));
    const gc = new Batcher(w.write, options());
    const first = gc.submit([1]);
    await settle();
    const batch = [gc.submit([2]), gc.submit([13]), gc.submit([4])];
    w.release();
    await first;
    await settle();
    w.release(); // the merged write fails
    await settle();
    assert.deepEqual(w.writes.slice(1), [[2, 13, 4], [2], [13], [4]]);
    w.release();
    const outcome = await Promise.allSettled(batch);
    assert.deepEqual(
      outcome.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual((outcome[0] as PromiseFulfilledResult<string[]>).value, ['r2']);
  });

  it('fails every request of a batch on a transient error, without retrying them one by one', async () => {
    let down = true;
    const w = gatedWriter(() => (down ? new Error('connection lost') : undefined));
    const gc = new Batcher(w.write, options());
    const first = gc.submit([1]);
    await settle();
    const batch = [gc.submit([2]), gc.submit([3])];
    w.release();
    await assert.rejects(first, /connection lost/);
    await settle();
    w.release();
    const outcome = await Promise.allSettled(batch);
    assert.deepEqual(
      outcome.map((o) => o.status),
      ['rejected', 'rejected'],
    );
    assert.equal(w.writes.length, 2, 'no write per request after a transient failure');
    down = false;
    const after = gc.submit([4]);
    await settle();
    w.release();
    assert.deepEqual(await after, ['r4']);
  });
});
