import { connect, type Socket } from 'node:net';

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface RawFrameOptions {
  /** FIN bit (default true); false starts or continues a fragmented message. */
  fin?: boolean;
  /** RSV1–3 bits as they sit in the first byte (0x40, 0x20, 0x10). */
  rsv?: number;
  /** Clients must mask; false sends an unmasked frame (a protocol violation). */
  masked?: boolean;
  /** The length written in the header, when it should differ from the payload's. */
  declaredLength?: number;
}

/** One WebSocket frame as a client writes it (RFC 6455 §5.2), rules breakable on purpose. */
export function encodeFrame(opcode: number, payload: Uint8Array, options: RawFrameOptions = {}): Buffer {
  const { fin = true, rsv = 0, masked = true } = options;
  const length = options.declaredLength ?? payload.length;
  const first = (fin ? 0x80 : 0) | rsv | opcode;
  const maskBit = masked ? 0x80 : 0;
  let header: Buffer;
  if (length < 126) header = Buffer.from([first, maskBit | length]);
  else if (length < 65536) {
    header = Buffer.from([first, maskBit | 126, 0, 0]);
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!masked) return Buffer.concat([header, payload]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i % 4];
  return Buffer.concat([header, key, body]);
}

export interface RawServerFrame {
  opcode: number;
  payload: Buffer;
}

/** How a raw connection ended: the close frame's code, or null when the TCP connection just ended. */
export interface RawEnding {
  closeCode: number | null;
  frames: RawServerFrame[];
}

/**
 * A WebSocket connection written byte by byte, for frames no client library will send (oversize,
 * unmasked, reserved bits, broken fragmentation). It reads what the server sends back.
 */
export class RawWebSocket {
  readonly frames: RawServerFrame[] = [];
  readonly ended: Promise<RawEnding>;
  private pending = Buffer.alloc(0);
  private closeCode: number | null = null;

  private constructor(private readonly socket: Socket) {
    this.ended = new Promise((resolve) =>
      socket.once('close', () => resolve({ closeCode: this.closeCode, frames: this.frames })),
    );
  }

  /** Upgrades `path` (query included) on 127.0.0.1:`port` with the given headers. */
  static open(port: number, path: string, headers: Record<string, string> = {}): Promise<RawWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      const raw = new RawWebSocket(socket);
      let head = Buffer.alloc(0);
      socket.once('error', reject);
      socket.on('data', function onHead(chunk: Buffer) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHead);
        socket.off('error', reject);
        socket.on('error', () => undefined);
        const status = head.subarray(0, end).toString('latin1').split('\r\n')[0];
        if (!status.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          return reject(new Error(status));
        }
        socket.on('data', (more: Buffer) => raw.receive(more));
        raw.receive(head.subarray(end + 4));
        resolve(raw);
      });
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra.join('')}\r\n`,
      );
    });
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  send(opcode: number, payload: Uint8Array | string, options?: RawFrameOptions): void {
    this.write(encodeFrame(opcode, typeof payload === 'string' ? Buffer.from(payload) : payload, options));
  }

  /** Text frames received so far, parsed as JSON. */
  json(): unknown[] {
    return this.frames
      .filter((f) => f.opcode === Opcode.text)
      .map((f) => JSON.parse(f.payload.toString('utf8')) as unknown);
  }

  /** Resolves once a text frame matching `test` arrived; rejects if the connection ends first. */
  async waitFor(test: (frame: unknown) => boolean, timeoutMs = 5000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.json().find(test);
      if (found !== undefined) return found;
      if (this.socket.destroyed) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(
      `no matching frame (closed: ${this.socket.destroyed}); got ${JSON.stringify(this.json())}`,
    );
  }

  /** Ends the connection from this side (for cleanup). */
  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const b = this.pending;
      if (b.length < 2) return;
      let length = b[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      const frame = { opcode: b[0] & 0x0f, payload: b.subarray(offset, offset + length) };
      if (frame.opcode === Opcode.close) {
        // A close frame without a code is 1005 ("no status received", RFC 6455 §7.4.1).
        this.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
      }
      this.frames.push(frame);
      this.pending = b.subarray(offset + length);
    }
  }
}
