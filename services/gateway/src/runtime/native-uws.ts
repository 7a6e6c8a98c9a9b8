import type * as Uws from 'uWebSockets.js';

export type UwsModule = typeof Uws;

export class NativeUwsUnavailableError extends Error {
  constructor() {
    super(
      'uWebSockets.js native binary did not load (its package fell back to a slow JavaScript shim); ' +
        'the gateway refuses to start. Use Node.js 20 on linux-x64 and unset UWS_USE_FALLBACK.',
    );
    this.name = 'NativeUwsUnavailableError';
  }
}

const NATIVE_BINARY = /[\\/]uWebSockets\.js[\\/]binaries[\\/]uws_[^\\/]+\.node$/;

/**
 * The aliased uWebSockets.js package silently swaps in a ws-based shim when its native addon fails
 * to load. That shim is an order of magnitude slower and lacks backpressure semantics we depend on,
 * so we prove the export is the addon's own and fail otherwise. Returns the module and its binary.
 */
export function loadNativeUws(): { uws: UwsModule; binary: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const uws = require('uWebSockets.js') as UwsModule;
  const binary = Object.keys(require.cache).find((path) => NATIVE_BINARY.test(path));
  if (!binary || require.cache[binary]?.exports !== uws) throw new NativeUwsUnavailableError();
  return { uws, binary };
}
