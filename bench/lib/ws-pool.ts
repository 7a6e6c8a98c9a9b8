import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

/**
 * A lean WebSocket client pool on node:net, for load generation only: a hand-written HTTP upgrade,
 * and a frame parser that reads only frame headers to count text frames. A socket's payloads are
 * assembled only while it is in "capture" mode (until its handshake frames such as `ready` or
 * `subscribed` arrived); after that payload bytes are skipped without copying. Pings are answered.
 */

const enum Op {
  Text = 1,
  Close = 8,
  Ping = 9,
}

export interface PoolConnectOptions {
  port: number;
  host?: string;
  /** One request path (with query) per socket, or a function of the socket's index. */
  path: (index: number) => string;
  count: number;
  /** Source addresses are 127.0.0.<first> … 127.0.0.<first + spread - 1>, round robin. */
  sourceFirst?: number;
  sourceSpread?: number;
  /** Upgrades in flight at once. */
  concurrency?: number;
  /**
   * Called with each text frame a socket receives while capturing; return true when the socket is
   * ready (capture ends). `send` writes a masked text frame.
   */
  onCapture: (index: number, payload: string, send: (text: string) => void) => boolean;
  /**
   * If given, every text frame after capture is assembled and passed here (costs a copy per frame).
   * `send` writes a masked text frame on the same socket (e.g. an application-level ack). Returning
   * false leaves the frame out of the counts (e.g. a `reconnect` frame among notifications).
   */
  onFrame?: (index: number, payload: string, send: (text: string) => void) => boolean | void;
  /**
   * Text frames of at most this many payload bytes after capture (e.g. Engine.IO's ping `2`) are
   * assembled and passed to `onShortFrame` instead of being counted or passed to `onFrame`. Off unless
   * `onShortFrame` is given.
   */
  shortFrameMax?: number;
  onShortFrame?: (index: number, payload: string, send: (text: string) => void) => void;
  /** Called when a socket that was ready closes. */
  onClosed?: (index: number) => void;
  timeoutMs: number;
}

interface Conn {
  socket: Socket;
  index: number;
  capturing: boolean;
  remaining: number;
  opcode: number;
  parts: Buffer[] | null;
  /** The current frame is a short text frame for `onShortFrame`. */
  short: boolean;
  stash: Buffer | null;
  frames: number;
  ready: boolean;
  closed: boolean;
}

/** How a client process spreads and paces the sockets of one `open` request. */
export interface OpenPlacement {
  /** Sockets bind to 127.0.0.<sourceFirst …sourceFirst + sourceSpread − 1>, round robin. */
  sourceFirst: number;
  sourceSpread: number;
  /** Upgrades in flight at once. */
  concurrency: number;
  timeoutMs: number;
}

/** What a pool counted since its last `expect` (times in epoch ms, 0 when no frame came). */
export interface PoolCounts {
  frames: number;
  bytes: number;
  firstFrameAt: number;
  lastFrameAt: number;
  /** Fewest frames counted on one socket. */
  minPerSocket: number;
  closedAfterReady: number;
}

/** A process-local `performance.now()` as epoch ms, comparable across processes; 0 stays 0. */
export const epoch = (t: number): number => (t === 0 ? 0 : performance.timeOrigin + t);

export class WsPool {
  readonly conns: Conn[] = [];
  /** Text frames counted after capture ended, in total and payload bytes. */
  frames = 0;
  bytes = 0;
  closedAfterReady = 0;
  private closing = false;
  lastFrameAt = 0;
  firstFrameAt = 0;
  private target = Infinity;
  private onTarget: (() => void) | null = null;

  /** Resets counters; resolves when `expected` frames have been counted in total (or on timeout). */
  expect(expected: number, timeoutMs: number): Promise<{ reached: boolean }> {
    this.frames = 0;
    this.bytes = 0;
    this.firstFrameAt = 0;
    this.lastFrameAt = 0;
    for (const c of this.conns) c.frames = 0;
    this.target = expected;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onTarget = null;
        resolve({ reached: false });
      }, timeoutMs);
      this.onTarget = () => {
        clearTimeout(timer);
        this.onTarget = null;
        resolve({ reached: true });
      };
    });
  }

  counts(): PoolCounts {
    let min = Infinity;
    for (const c of this.conns) if (c.frames < min) min = c.frames;
    return {
      frames: this.frames,
      bytes: this.bytes,
      firstFrameAt: epoch(this.firstFrameAt),
      lastFrameAt: epoch(this.lastFrameAt),
      minPerSocket: this.conns.length ? min : 0,
      closedAfterReady: this.closedAfterReady,
    };
  }

  /** Sockets open now, and how many closed after their handshake. */
  status(): { open: number; closedAfterReady: number } {
    let open = 0;
    for (const c of this.conns) if (!c.closed) open++;
    return { open, closedAfterReady: this.closedAfterReady };
  }

  /** Opens `count` sockets; resolves once every one is ready (or rejects at the first failure / timeout). */
  async open(o: PoolConnectOptions): Promise<{ ms: number }> {
    const started = performance.now();
    const deadline = Date.now() + o.timeoutMs;
    const concurrency = o.concurrency ?? 100;
    let next = 0;
    const base = this.conns.length;
    const worker = async (): Promise<void> => {
      while (next < o.count) {
        if (Date.now() > deadline)
          throw new Error(`connect timeout after ${o.timeoutMs} ms (${next}/${o.count})`);
        const i = next++;
        await this.openOne(o, base + i, o.path(i), deadline);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, o.count) }, worker));
    return { ms: performance.now() - started };
  }

  /** Opens socket `index` again (after it closed), replacing it in the pool. */
  reopen(o: PoolConnectOptions, index: number, path: string, port: number, timeoutMs: number): Promise<void> {
    return this.openOne({ ...o, port }, index, path, Date.now() + timeoutMs);
  }

  private openOne(o: PoolConnectOptions, i: number, path: string, deadline: number): Promise<void> {
    const spread = o.sourceSpread ?? 8;
    const localAddress = `127.0.0.${(o.sourceFirst ?? 2) + (i % spread)}`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: o.host ?? '127.0.0.1', port: o.port, localAddress });
      socket.setNoDelay(true);
      const c: Conn = {
        socket,
        index: i,
        capturing: true,
        remaining: 0,
        opcode: 0,
        parts: null,
        short: false,
        stash: null,
        frames: 0,
        ready: false,
        closed: false,
      };
      this.conns[i] = c;
      let head: Buffer | null = Buffer.alloc(0);
      const timer = setTimeout(
        () => {
          socket.destroy();
          reject(new Error(`socket ${i} not ready in time`));
        },
        Math.max(1, deadline - Date.now()),
      );
      const send = (text: string): void => {
        socket.write(maskedFrame(Op.Text, Buffer.from(text)));
      };
      const fail = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', (err) => {
        c.closed = true;
        if (!c.ready) fail(err);
      });
      socket.once('close', () => {
        c.closed = true;
        if (c.ready) {
          this.closedAfterReady++;
          if (!this.closing) o.onClosed?.(i);
        } else fail(new Error(`socket ${i} closed before ready`));
      });
      socket.on('data', (chunk: Buffer) => {
        if (head) {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
          if (!status.startsWith('HTTP/1.1 101')) {
            socket.destroy();
            return fail(new Error(`upgrade refused: ${status}`));
          }
          chunk = head.subarray(end + 4);
          head = null;
          if (chunk.length === 0) return;
        }
        this.feed(c, chunk, o, send, () => {
          c.ready = true;
          clearTimeout(timer);
          resolve();
        });
      });
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  }

  /** Frame parser: headers only, payloads skipped unless capturing or a ping. */
  private feed(
    c: Conn,
    chunk: Buffer,
    o: PoolConnectOptions,
    send: (t: string) => void,
    onReady: () => void,
  ): void {
    if (c.stash) {
      chunk = Buffer.concat([c.stash, chunk]);
      c.stash = null;
    }
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (c.remaining > 0) {
        const take = Math.min(c.remaining, n - i);
        if (c.parts) c.parts.push(chunk.subarray(i, i + take));
        c.remaining -= take;
        i += take;
        if (c.remaining === 0) this.endFrame(c, o, send, onReady);
        continue;
      }
      if (n - i < 2) {
        c.stash = Buffer.from(chunk.subarray(i));
        return;
      }
      const b0 = chunk[i];
      let len = chunk[i + 1] & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (n - i < 4) {
          c.stash = Buffer.from(chunk.subarray(i));
          return;
        }
        len = chunk.readUInt16BE(i + 2);
        hdr = 4;
      } else if (len === 127) {
        if (n - i < 10) {
          c.stash = Buffer.from(chunk.subarray(i));
          return;
        }
        len = Number(chunk.readBigUInt64BE(i + 2));
        hdr = 10;
      }
      i += hdr;
      c.opcode = b0 & 0x0f;
      c.remaining = len;
      c.short = !c.capturing && c.opcode === Op.Text && !!o.onShortFrame && len <= (o.shortFrameMax ?? 0);
      c.parts =
        c.capturing || c.short || o.onFrame || c.opcode === Op.Ping || c.opcode === Op.Close ? [] : null;
      if (!c.capturing && !c.short && c.opcode === Op.Text) this.bytes += len;
      if (len === 0) this.endFrame(c, o, send, onReady);
    }
  }

  private endFrame(c: Conn, o: PoolConnectOptions, send: (t: string) => void, onReady: () => void): void {
    const op = c.opcode;
    if (op === Op.Text) {
      if (c.capturing && c.parts) {
        const text = Buffer.concat(c.parts).toString('utf8');
        c.parts = null;
        if (o.onCapture(c.index, text, send)) {
          c.capturing = false;
          onReady();
        }
        return;
      }
      if (c.short) {
        if (c.parts) o.onShortFrame?.(c.index, Buffer.concat(c.parts).toString('utf8'), send);
        c.parts = null;
        return;
      }
      if (
        o.onFrame &&
        c.parts &&
        o.onFrame(c.index, Buffer.concat(c.parts).toString('utf8'), send) === false
      ) {
        c.parts = null;
        return;
      }
      c.frames++;
      this.frames++;
      const now = performance.now();
      if (this.firstFrameAt === 0) this.firstFrameAt = now;
      this.lastFrameAt = now;
      if (this.frames >= this.target && this.onTarget) this.onTarget();
    } else if (op === Op.Ping) {
      c.socket.write(maskedFrame(0xa, c.parts ? Buffer.concat(c.parts) : Buffer.alloc(0)));
    } else if (op === Op.Close) {
      c.socket.end();
    }
    c.parts = null;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const c of this.conns) if (!c.closed) c.socket.destroy();
    this.conns.length = 0;
  }
}

/** A client frame (FIN, masked, as RFC 6455 requires of clients). */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(hdr + 4 + len);
  out[0] = 0x80 | opcode;
  if (hdr === 2) out[1] = 0x80 | len;
  else if (hdr === 4) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, hdr);
  for (let k = 0; k < len; k++) out[hdr + 4 + k] = payload[k] ^ mask[k & 3];
  return out;
}
