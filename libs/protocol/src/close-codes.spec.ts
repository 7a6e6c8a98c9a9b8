import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeAction, closeCodeAllowsReconnect, CloseCode } from './close-codes';

describe('closeAction', () => {
  it('gives each v1 code its documented action', () => {
    assert.equal(closeAction(CloseCode.Forbidden), 'stop');
    assert.equal(closeAction(CloseCode.MessageTooBig), 'stop');
    assert.equal(closeAction(CloseCode.TokenExpired), 'refresh-token');
    for (const code of [
      CloseCode.GoingAway,
      CloseCode.InternalError,
      CloseCode.SlowConsumer,
      CloseCode.RateLimited,
      CloseCode.Abnormal,
      CloseCode.Normal,
    ])
      assert.equal(closeAction(code), 'reconnect', String(code));
  });
  it('reads unknown codes by range: 4000–4099 terminal, the rest reconnect', () => {
    assert.equal(closeAction(4000), 'stop');
    assert.equal(closeAction(4099), 'stop');
    assert.equal(closeAction(4100), 'reconnect');
    assert.equal(closeAction(4999), 'reconnect');
    assert.equal(closeAction(3000), 'reconnect');
    assert.equal(closeCodeAllowsReconnect(4050), false);
    assert.equal(closeCodeAllowsReconnect(4408), true);
  });
});
