import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeUws } from './native-uws';

describe('loadNativeUws', () => {
  it('loads the native addon for this platform and Node ABI, not the JavaScript shim', () => {
    const { uws, binary } = loadNativeUws();
    assert.ok(
      binary.endsWith(`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`),
      binary,
    );
    assert.equal(typeof uws.App, 'function');
    assert.equal(
      require.cache[require.resolve('uWebSockets.js/dist/index')],
      undefined,
      'fallback shim not loaded',
    );
  });
});
