import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasLoneSurrogate, hasUnstorableText } from './storable-text';

describe('text PostgreSQL can store', () => {
  it('finds U+0000 and lone surrogates in strings and keys at any depth, and nothing else', () => {
    for (const v of ['a\u0000', '\ud800', ['ok', { x: [{ y: 'b\udc00' }] }], { ['k\u0000']: 1 }]) {
      assert.equal(hasUnstorableText(v), true, JSON.stringify(v));
    }
    for (const v of ['😀', 'é\\u0000', { a: [1, null, true, { b: 'ok' }] }, 42, null, undefined]) {
      assert.equal(hasUnstorableText(v), false, JSON.stringify(v));
    }
  });

  it('tells lone surrogates from pairs', () => {
    assert.equal(hasLoneSurrogate('\ud800'), true);
    assert.equal(hasLoneSurrogate('a\udfffb'), true);
    assert.equal(hasLoneSurrogate('😀'.slice(0, 1)), true);
    assert.equal(hasLoneSurrogate('\ud83d\ude00 ok'), false);
    assert.equal(hasLoneSurrogate('plain'), false);
  });

  it('walks deep nesting without recursion', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(hasUnstorableText(deep), true);
  });
});
