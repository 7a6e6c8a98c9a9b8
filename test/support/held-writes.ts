import assert from 'node:assert/strict';
import { mock } from 'node:test';

/** One call of a HeldWrites: what was written, and its end, when the test decides. */
export interface HeldWrite<T> {
  input: T;
  release(): void;
  /** Fails the write as the pool's query timeout does a query that never answered. */
  fail(): void;
}

/**
 * A store write that does not answer until the test says so, for specs of the gateway's periodic
 * writers: each call is recorded (synchronously, with its input) and settles only on `release` or
 * `fail`, like a query on a connection whose server vanished, until the query timeout fails it.
 */
export class HeldWrites<T> {
  readonly calls: HeldWrite<T>[] = [];

  readonly write = (input: T): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.calls.push({ input, release: resolve, fail: () => reject(new Error('Query read timeout')) });
    });

  get last(): HeldWrite<T> {
    const call = this.calls.at(-1);
    if (!call) throw new Error('no write yet');
    return call;
  }
}

/** Lets what a settled write started run to its next wait (a turn of the event loop). */
export const afterWrites = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface HungWriteScenario<T> {
  /** The writer's store writes (the writer is already built, its interval under mock timers). */
  store: HeldWrites<T>;
  /** The writer's flush interval. */
  intervalMs: number;
  /** Intervals that pass while the first write hangs (default 10). */
  ticks?: number;
  /**
   * Makes the writer's changes of step `step`: 0 before the first write, 1 … ticks before each tick
   * while it hangs, ticks + 1 while the second write is in flight.
   */
  change(step: number): void;
  /** How the first write ends: failed by the query timeout, or answered at last. */
  end: 'fail' | 'release';
}

/**
 * What a periodic writer must do when a write hangs (mock.timers must drive setInterval): the ticks
 * meanwhile start no write and queue none behind it; once it ends, one write takes everything
 * pending (`merged`), and a change made during that write waits for the next tick (`next`), since
 * nothing was left queued by the ticks of the hang. Every write is released by the end.
 */
export async function playHungWrite<T>(scenario: HungWriteScenario<T>): Promise<{ merged: T; next: T }> {
  const { store, intervalMs, ticks = 10, change } = scenario;
  const tick = async (): Promise<void> => {
    mock.timers.tick(intervalMs);
    await afterWrites();
  };
  change(0);
  await tick();
  assert.equal(store.calls.length, 1, 'the first tick writes');
  for (let step = 1; step <= ticks; step++) {
    change(step);
    mock.timers.tick(intervalMs);
  }
  await afterWrites();
  assert.equal(store.calls.length, 1, 'no second write while the first is in flight');

  if (scenario.end === 'fail') store.last.fail();
  else store.last.release();
  await afterWrites();
  assert.equal(store.calls.length, 2, 'once it ends, the next write runs');
  const merged = store.last.input;

  change(ticks + 1);
  store.last.release();
  await afterWrites();
  assert.equal(store.calls.length, 2, 'no write left over from the ticks of the hang');
  await tick();
  assert.equal(store.calls.length, 3, 'the next tick writes what changed meanwhile');
  store.last.release();
  await afterWrites();
  return { merged, next: store.last.input };
}
