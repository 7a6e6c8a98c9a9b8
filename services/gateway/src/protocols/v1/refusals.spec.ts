import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeAction, CloseCode } from '@notify/protocol';
import type { CloseReason } from '../../core/ports';
import { closeCodeFor, encodeError } from './refusals';

describe('v1 refusals', () => {
  it('closes for each reason with the documented code, whose action the SDK follows', () => {
    const expected: [CloseReason, CloseCode, string][] = [
      ['going-away', CloseCode.GoingAway, 'reconnect'],
      ['too-big', CloseCode.MessageTooBig, 'stop'],
      ['internal', CloseCode.InternalError, 'reconnect'],
      ['token-expired', CloseCode.TokenExpired, 'refresh-token'],
      ['forbidden', CloseCode.Forbidden, 'stop'],
      ['slow-consumer', CloseCode.SlowConsumer, 'reconnect'],
      ['rate-limited', CloseCode.RateLimited, 'reconnect'],
    ];
    for (const [reason, code, action] of expected) {
      assert.equal(closeCodeFor(reason), code, reason);
      assert.equal(closeAction(code), action, reason);
    }
  });

  it('turns a refusal into one error frame, with the ref only when there is one', () => {
    assert.equal(
      encodeError({ kind: 'forbidden', message: 'no', ref: 'r' }),
      '{"type":"error","code":"forbidden","message":"no","ref":"r"}',
    );
    assert.equal(
      encodeError({ kind: 'internal', message: 'x' }),
      '{"type":"error","code":"internal","message":"x"}',
    );
  });
});
