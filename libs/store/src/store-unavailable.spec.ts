import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asStoreError, StoreUnavailableError } from './store-unavailable';

const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('asStoreError', () => {
  it('reports an unreachable or shutting-down PostgreSQL as StoreUnavailableError, with the cause', () => {
    for (const err of [
      withCode('ECONNREFUSED'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('08006'),
      withCode('53300', 'too many connections'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client was closed and is not queryable'),
    ]) {
      const reported = asStoreError(err);
      assert.ok(reported instanceof StoreUnavailableError, err.message);
      assert.equal(reported.cause, err);
      assert.match(reported.message, /^store unavailable: /);
    }
  });

  it('leaves errors of the input or of the code as they are', () => {
    for (const err of [
      withCode('23505'),
      withCode('22P02'),
      withCode('40001'),
      new TypeError('bug'),
      'text',
    ]) {
      assert.equal(asStoreError(err), err);
    }
  });

  it('does not wrap twice', () => {
    const once = new StoreUnavailableError(withCode('ECONNRESET'));
    assert.equal(asStoreError(once), once);
  });
});
