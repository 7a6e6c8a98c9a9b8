import WebSocket from 'ws';
import type { ServerFrame, ServerFrameMap, ServerFrameType } from '@notify/protocol';

/**
 * A raw protocol client for tests: no SDK, so tests see exactly what the gateway sends.
 * Frames are queued; `next(type)` takes the first unconsumed frame of that type.
 */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  private readonly waiters: (() => void)[] = [];
  closeCode: number | null = null;
  closeReason = '';
  closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame);
      this.waiters.splice(0).forEach((w) => w());
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.waiters.splice(0).forEach((w) => w());
        resolve(code);
      }),
    );
  }

  /** `ca`: the certificate a `wss://` gateway is trusted with (a test certificate). */
  static connect(url: string, headers: Record<string, string> = {}, ca?: Buffer): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, ...(ca ? { ca } : {}) });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new UpgradeRejected(res.statusCode ?? 0)));
      ws.once('error', reject);
    });
  }

  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  all<T extends ServerFrameType>(type: T): ServerFrameMap[T][] {
    return this.frames.filter((f) => f.type === type) as ServerFrameMap[T][];
  }

  async next<T extends ServerFrameType>(type: T, timeoutMs = 5000): Promise<ServerFrameMap[T]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((f) => f.type === type);
      if (index >= 0) return this.frames.splice(index, 1)[0] as ServerFrameMap[T];
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== null) {
        throw new Error(
          `no ${type} frame within ${timeoutMs} ms (closed: ${this.closeCode}); got ${JSON.stringify(this.frames)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): Promise<number> {
    this.ws.close();
    return this.closed;
  }
}

export class UpgradeRejected extends Error {
  constructor(readonly status: number) {
    super(`upgrade rejected with HTTP ${status}`);
  }
}
