import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SendNotificationDto } from '@notify/contracts';
import { StoreUnavailableError } from '@notify/store';
import { backoff, nextStep } from './ingest-decision';
import type { ParsedIngestMessage } from './ingest-message';

const valid: ParsedIngestMessage = { kind: 'notification', dto: new SendNotificationDto() };
const reason = 'validation failed: title: must be a string';
const invalid: ParsedIngestMessage = { kind: 'invalid', reason };
const unavailable = new StoreUnavailableError(
  Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
);

describe('nextStep (the AMQP consumer’s retry and dead-letter rule)', () => {
  it('acks a message once it is stored, even while draining', () => {
    assert.deepEqual(nextStep(valid, { stored: true }, 0, false), { do: 'ack' });
    assert.deepEqual(nextStep(valid, { stored: true }, 3, true), { do: 'ack' });
  });

  it('dead-letters an invalid message at once, with its reason', () => {
    assert.deepEqual(nextStep(invalid, null, 0, false), { do: 'dead-letter', reason });
  });

  it('holds and retries while the store is unavailable, backing off up to 5 s', () => {
    const delays = [0, 1, 2, 5, 6, 20].map((attempt) => {
      const step = nextStep(valid, { stored: false, error: unavailable }, attempt, false);
      assert.equal(step.do, 'retry');
      return step.do === 'retry' ? step.afterMs : -1;
    });
    assert.deepEqual(delays, [100, 200, 400, 3_200, 5_000, 5_000]);
    assert.equal(backoff(0), 100);
  });

  it('holds and retries a raw connection error too, as the store would have reported it', () => {
    const terminated = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    const step = nextStep(valid, { stored: false, error: terminated }, 0, false);
    assert.equal(step.do, 'retry');
    assert.ok(step.do === 'retry' && step.error instanceof StoreUnavailableError);
  });

  it('dead-letters a message whose store failed otherwise, naming the error', () => {
    const bug = new TypeError('cannot read properties of undefined');
    const step = nextStep(valid, { stored: false, error: bug }, 0, false);
    assert.deepEqual(step, {
      do: 'dead-letter',
      reason: 'internal error: cannot read properties of undefined',
      unexpected: bug,
    });
    const constraint = Object.assign(new Error('value too long'), { code: '22001' });
    assert.equal(nextStep(valid, { stored: false, error: constraint }, 0, false).do, 'dead-letter');
  });

  it('leaves a message unacked while draining, unless it was stored', () => {
    assert.deepEqual(nextStep(invalid, null, 0, true), { do: 'leave' });
    assert.deepEqual(nextStep(valid, null, 0, true), { do: 'leave' });
    assert.deepEqual(nextStep(valid, { stored: false, error: unavailable }, 2, true), { do: 'leave' });
    assert.deepEqual(nextStep(valid, { stored: false, error: new Error('bug') }, 0, true), { do: 'leave' });
  });
});
