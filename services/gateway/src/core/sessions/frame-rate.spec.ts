import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newFrameRateState, takeFrame } from './frame-rate';

describe('frame rate budget', () => {
  it('allows a burst of one second’s budget, then refuses, then closes a client that keeps going', () => {
    const state = newFrameRateState(10);
    const verdicts = Array.from({ length: 25 }, () => takeFrame(state, 10, 0));
    assert.deepEqual(verdicts.slice(0, 10), Array(10).fill('ok'));
    assert.deepEqual(verdicts.slice(10, 20), Array(10).fill('refuse'));
    assert.equal(verdicts[20], 'close');
  });

  it('refills over time, so a client within its rate is never refused', () => {
    const state = newFrameRateState(10);
    for (let t = 0; t < 5000; t += 100) assert.equal(takeFrame(state, 10, t), 'ok');
  });

  it('refills by the millisecond, in whole numbers', () => {
    const state = newFrameRateState(10);
    for (let i = 0; i < 10; i++) assert.equal(takeFrame(state, 10, 1_000), 'ok');
    assert.equal(takeFrame(state, 10, 1_050), 'refuse', 'half a frame refilled after 50 ms');
    assert.equal(takeFrame(state, 10, 1_100), 'ok', 'a whole one after 100 ms');
    assert.equal(takeFrame(state, 10, 1_133), 'refuse');
    assert.ok(Number.isInteger(state.tokens) && Number.isInteger(state.stamp));
    assert.equal(takeFrame(state, 10, 60_000), 'ok', 'a long pause refills to the burst and no more');
    for (let i = 0; i < 9; i++) assert.equal(takeFrame(state, 10, 60_000), 'ok');
    assert.equal(takeFrame(state, 10, 60_000), 'refuse');
  });
});
