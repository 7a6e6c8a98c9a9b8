import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newFrameRateState, takeFrame } from './frame-rate';

describe('frame rate budget', () => {
  it('allows a burst of one second’s budget, then refuses, then closes a client that keeps going', () => {
    const state = newFrameRateState(10, 0);
    const verdicts = Array.from({ length: 25 }, () => takeFrame(state, 10, 0));
    assert.deepEqual(verdicts.slice(0, 10), Array(10).fill('ok'));
    assert.deepEqual(verdicts.slice(10, 20), Array(10).fill('refuse'));
    assert.equal(verdicts[20], 'close');
  });

  it('refills over time, so a client within its rate is never refused', () => {
    const state = newFrameRateState(10, 0);
    for (let t = 0; t < 5000; t += 100) assert.equal(takeFrame(state, 10, t), 'ok');
  });
});
