import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKeySet } from './api-keys';

describe('ApiKeySet', () => {
  const keys = new ApiKeySet(['key-one', 'key-two']);
  it('accepts any configured key as a bearer token', () => {
    assert.equal(keys.matchesAuthorizationHeader('Bearer key-one'), true);
    assert.equal(keys.matchesAuthorizationHeader('bearer key-two'), true);
  });
  it('refuses unknown keys, prefixes, other schemes and missing headers', () => {
    for (const header of ['Bearer key', 'Bearer key-one-more', 'Basic key-one', 'key-one', '', undefined]) {
      assert.equal(keys.matchesAuthorizationHeader(header), false, String(header));
    }
  });
});
