import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pacedRun, type FrameCounter, type Producer } from './producers';
import { now } from './proc';

/** A producer that only records what each send carried, and clients that saw everything at once. */
function recorder(): { producer: Producer; sends: { at: number; users: number }[] } {
  const sends: { at: number; users: number }[] = [];
  return {
    sends,
    producer: {
      refused: 0,
      send: (users) => {
        sends.push({ at: now(), users: users.length });
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    },
  };
}

/** Clients that report every expected frame delivered: only the sending is under test. */
const clients: FrameCounter = {
  expect: (expected) =>
    Promise.resolve({
      result: Promise.resolve({
        frames: expected,
        bytes: 0,
        firstFrameAt: now(),
        lastFrameAt: now(),
        minPerSocket: 1,
        closedAfterReady: 0,
        reached: true,
      }),
    }),
};

describe('pacedRun (the benchmarks open loop)', () => {
  it('sends one notification at a time at 1,000/s, not bursts, and never ahead of the rate', async () => {
    const { producer, sends } = recorder();
    const started = now();
    const run = await pacedRun(clients, producer, 1000, 0.3, 50, 5_000);
    assert.equal(run.sent, 300);
    assert.equal(
      sends.reduce((n, s) => n + s.users, 0),
      300,
    );
    const sizes = sends.map((s) => s.users).sort((a, b) => a - b);
    // Timers run late, more so on a busy machine, so some sends carry two or three; a fixed 5 ms tick
    // sent five each.
    assert.ok(sizes[sizes.length >> 1] <= 3, `median send carried ${sizes[sizes.length >> 1]}`);
    // The i-th is due at i ms: the last one cannot go before 299 ms.
    assert.ok(sends[sends.length - 1].at - started >= 299, 'ran ahead of the rate');
  });

  it('spaces 100/s ten milliseconds apart', async () => {
    const { producer, sends } = recorder();
    await pacedRun(clients, producer, 100, 0.2, 10, 5_000);
    assert.equal(sends.length, 20);
    assert.ok(sends.every((s) => s.users === 1));
    const gaps = sends.slice(1).map((s, i) => s.at - sends[i].at);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    assert.ok(mean >= 9 && mean <= 12, `mean gap ${mean.toFixed(2)} ms`);
  });
});
