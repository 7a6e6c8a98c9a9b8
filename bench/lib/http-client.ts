import { connect, type Socket } from 'node:net';

/**
 * The benchmarks' HTTP/1.1 load generator: keep-alive connections, one request in flight on each,
 * each request written in one piece and each response parsed only as far as its status and length.
 *
 * Why not `node:http` or `fetch`: the producer shares the two cores with the system under test, and on
 * this machine Node's `http.request` costs ~160–250 µs of CPU per request at 1,000/s and `fetch`
 * ~550–840 µs, against ~80–110 µs here. A load generator that eats a core is measured as latency of
 * whatever it loads, and a different one per system measures the clients rather than the servers.
 */

export interface HttpResponse {
  status: number;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

type Pending = { resolve: (r: HttpResponse) => void; reject: (e: Error) => void };

/** One keep-alive connection and the parser of the response it is waiting for. */
class Connection {
  readonly socket: Socket;
  /** Responses already read on it: a reused connection may have been closed by the server meanwhile. */
  served = 0;
  dead = false;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private status = 0;
  /** Bytes of body still expected; -1 = chunked, -2 = until the server closes; undefined = in the head. */
  private remaining: number | undefined;
  private chunks: Buffer[] = [];
  private closeAfter = false;
  private received = 0;

  constructor(host: string, port: number, timeoutMs: number, onDead: (c: Connection) => void) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.setTimeout(timeoutMs);
    this.socket.on('timeout', () => this.socket.destroy(new Error(`no response within ${timeoutMs} ms`)));
    this.socket.on('data', (d: Buffer) => this.read(d));
    this.socket.on('error', (err: NodeJS.ErrnoException) =>
      this.fail(
        Object.assign(new Error(`connection failed before the response was complete: ${err.message}`), {
          code: err.code,
        }),
      ),
    );
    this.socket.on('close', () => {
      if (this.remaining === -2 && this.pending) this.finish(Buffer.concat(this.chunks));
      this.fail(new Error('connection closed before the response was complete'));
      onDead(this);
    });
  }

  exchange(request: Buffer): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.received = 0;
      this.socket.write(request);
    });
  }

  private fail(err: Error): void {
    this.dead = true;
    const p = this.pending;
    this.pending = undefined;
    // A request that never got a byte back may be sent again on a fresh connection.
    p?.reject(Object.assign(err, { untouched: this.received === 0 }));
  }

  private read(data: Buffer): void {
    this.received += data.length;
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, data]) : data;
    while (this.pending && this.step());
  }

  /** Consumes what it can of the buffer; false when it needs more bytes. */
  private step(): boolean {
    const b = this.buffered;
    if (this.remaining === undefined) {
      const end = b.indexOf(HEAD_END);
      if (end < 0) return false;
      this.head(b.toString('latin1', 0, end));
      this.buffered = b.subarray(end + 4);
      return true;
    }
    if (this.remaining === -2) {
      this.chunks.push(b);
      this.buffered = Buffer.alloc(0);
      return false;
    }
    if (this.remaining === -1) {
      const eol = b.indexOf(CRLF);
      if (eol < 0) return false;
      const size = parseInt(b.toString('latin1', 0, eol), 16);
      if (!Number.isFinite(size)) {
        this.socket.destroy(new Error('malformed chunked response'));
        return false;
      }
      // A chunk is its size line, its bytes and a CRLF; the last (size 0) has no trailers from our servers.
      if (b.length < eol + 2 + size + 2) return false;
      if (size > 0) this.chunks.push(b.subarray(eol + 2, eol + 2 + size));
      this.buffered = b.subarray(eol + 2 + size + 2);
      if (size === 0) this.finish(Buffer.concat(this.chunks));
      return true;
    }
    if (b.length < this.remaining) return false;
    this.buffered = b.subarray(this.remaining);
    this.finish(b.subarray(0, this.remaining));
    return true;
  }

  private head(text: string): void {
    this.status = Number(text.slice(9, 12));
    if (!text.startsWith('HTTP/1.') || !(this.status >= 100 && this.status < 600)) {
      this.socket.destroy(new Error(`not an HTTP/1.x response: ${JSON.stringify(text.slice(0, 40))}`));
      return;
    }
    if (this.status < 200) return; // an interim response (100 Continue): the real one follows
    const lower = text.toLowerCase();
    this.closeAfter = /\r\nconnection:\s*close/.test(lower) || text.startsWith('HTTP/1.0');
    const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) this.remaining = -1;
    else if (length) this.remaining = Number(length[1]);
    else if (this.status === 204 || this.status === 304) this.remaining = 0;
    else this.remaining = -2;
  }

  private finish(body: Buffer): void {
    const p = this.pending;
    const response = { status: this.status, body };
    this.pending = undefined;
    this.remaining = undefined;
    this.chunks = [];
    this.served++;
    if (this.closeAfter) {
      this.dead = true;
      this.socket.end();
    }
    p?.resolve(response);
  }
}

/** Keep-alive connections to one server, at most `connections` of them, each with one request at a time. */
export class KeepAliveClient {
  private readonly idle: Connection[] = [];
  private readonly waiting: ((c: Connection | Error) => void)[] = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly connections: number,
    private readonly timeoutMs = 30_000,
  ) {}

  /**
   * Sends one request and resolves with the response (any status); rejects if the connection fails.
   * A request on a reused connection that the server closed before answering a byte (its keep-alive
   * timeout) is sent once more on a fresh one, as Node documents for its own agent.
   */
  async request(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<HttpResponse> {
    const payload = body === undefined ? undefined : Buffer.from(body);
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    if (payload) head += `content-length: ${payload.length}\r\n`;
    const wire = Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), payload ?? Buffer.alloc(0)]);
    const conn = await this.acquire();
    const reused = conn.served > 0;
    try {
      const response = await conn.exchange(wire);
      this.release(conn);
      return response;
    } catch (err) {
      this.release(conn);
      if (reused && (err as { untouched?: boolean }).untouched && !this.closed) {
        const fresh = await this.acquire(true);
        try {
          return await fresh.exchange(wire);
        } finally {
          this.release(fresh);
        }
      }
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.idle) c.socket.destroy();
    this.idle.length = 0;
    for (const w of this.waiting.splice(0)) w(new Error('client closed'));
  }

  private acquire(fresh = false): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('client closed'));
    while (!fresh && this.idle.length) {
      const c = this.idle.pop() as Connection;
      if (!c.dead) return Promise.resolve(c);
    }
    if (this.open < this.connections) return Promise.resolve(this.connect());
    return new Promise((resolve, reject) =>
      this.waiting.push((c) => (c instanceof Error ? reject(c) : resolve(c))),
    );
  }

  private connect(): Connection {
    this.open++;
    return new Connection(this.host, this.port, this.timeoutMs, () => {
      // Its slot is free once it has closed: a request waiting for one gets a new connection.
      this.open--;
      const waiter = this.closed ? undefined : this.waiting.shift();
      waiter?.(this.connect());
    });
  }

  private release(conn: Connection): void {
    if (conn.dead || this.closed) {
      conn.socket.destroy();
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter(conn);
    else this.idle.push(conn);
  }
}
