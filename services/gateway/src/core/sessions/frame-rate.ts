/**
 * Per-connection frame budget: a token bucket of `perSecond` tokens (burst = one second's worth).
 * A frame over budget is refused (the connection stays); a client that keeps sending past a
 * second budget's worth of refusals is closed.
 *
 * Integers only, so that V8 keeps the fields as small integers instead of boxing a double per socket:
 * `tokens` counts thousandths of a frame (refill = elapsed ms × perSecond exactly) and time is
 * `rateClock()`, whole ms since the process started (small for its first 24 days; after that only
 * the boxing comes back).
 */
export interface FrameRateState {
  tokens: number;
  stamp: number;
  refused: number;
}

export type RateVerdict = 'ok' | 'refuse' | 'close';

const MILLI = 1000;

export const rateClock = (): number => Math.floor(performance.now());

/** A full bucket: `stamp` 0 refills it to the brim at the first frame whatever the clock says. */
export function newFrameRateState(perSecond: number): FrameRateState {
  return { tokens: perSecond * MILLI, stamp: 0, refused: 0 };
}

export function takeFrame(state: FrameRateState, perSecond: number, now: number): RateVerdict {
  state.tokens = Math.min(perSecond * MILLI, state.tokens + (now - state.stamp) * perSecond);
  state.stamp = now;
  if (state.tokens >= MILLI) {
    state.tokens -= MILLI;
    state.refused = 0;
    return 'ok';
  }
  return ++state.refused > perSecond ? 'close' : 'refuse';
}
