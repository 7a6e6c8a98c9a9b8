import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface MuxPrototype {
  _readIncoming(this: MuxInstance): void;
  [PATCHED]?: true;
}
interface MuxInstance {
  out: { cork(): void; uncork(): void };
}
const PATCHED = Symbol('notify.coalescedWrites');

/**
 * amqplib's multiplexer moves every frame that is ready (a publish, an ack) to the socket with its own
 * `write`, so each costs a syscall: under load, the largest single item in ingest's CPU profile.
 * Corking the socket for the length of one pass sends them together in one `writev`, without delaying
 * any of them past the pass that was going to write it anyway. The multiplexer is internal (the
 * package's exports hide it), so this reaches it by path and does nothing if its shape ever changes.
 * Returns whether writes are now coalesced.
 */
export function coalesceAmqplibWrites(): boolean {
  let proto: MuxPrototype | undefined;
  try {
    const load = createRequire(__filename);
    const lib = join(dirname(load.resolve('amqplib')), 'lib', 'mux.js');
    proto = (load(lib) as { Mux?: { prototype: MuxPrototype } }).Mux?.prototype;
  } catch {
    return false;
  }
  if (!proto || typeof proto._readIncoming !== 'function') return false;
  if (proto[PATCHED]) return true;
  const readIncoming = proto._readIncoming;
  proto._readIncoming = function (this: MuxInstance): void {
    const out = this.out;
    out.cork();
    try {
      readIncoming.call(this);
    } finally {
      out.uncork();
    }
  };
  proto[PATCHED] = true;
  return true;
}
