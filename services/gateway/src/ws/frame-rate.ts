/**
 * Per-connection frame budget: a token bucket of `perSecond` tokens (burst = one second's worth).
 * A frame over budget is refused with a `rate_limited` error; a client that keeps sending past a
 * second budget's worth of refusals is closed with 4429.
 */
export interface FrameRateState {
  tokens: number;
  stamp: number;
  refused: number;
}

export type RateVerdict = 'ok' | 'refuse' | 'close';

export function newFrameRateState(perSecond: number, now: number): FrameRateState {
  return { tokens: perSecond, stamp: now, refused: 0 };
}

export function takeFrame(state: FrameRateState, perSecond: number, now: number): RateVerdict {
  state.tokens = Math.min(perSecond, state.tokens + ((now - state.stamp) * perSecond) / 1000);
  state.stamp = now;
  if (state.tokens >= 1) {
    state.tokens -= 1;
    state.refused = 0;
    return 'ok';
  }
  return ++state.refused > perSecond ? 'close' : 'refuse';
}
