import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import type { Wire } from '../core/protocol-adapter';
import type { Session } from '../core/sessions/session';
import type { GatewayMetrics } from '../metrics/gateway-metrics';

/**
 * The socket's uWS user data: one field. uWS copies user data's fields onto its WebSocket object
 * one by one, and past about a dozen V8 turns that object into a hash table (measured: ~500 B more
 * per socket with the session's fields copied there).
 */
export interface SocketData {
  readonly session: Session;
}

/** The transport's handle, stored on the session by `open` (the core keeps it opaque). */
export const socketOf = (s: Session): WebSocket<SocketData> | null => s.conn as WebSocket<SocketData> | null;

/**
 * The one send path to sockets, enforcing the send-buffer bound for every frame: a client that does
 * not read is closed (slow consumer), not buffered for.
 */
export class SocketWriter implements Wire {
  constructor(
    private readonly app: TemplatedApp,
    private readonly maxBackpressure: number,
    private readonly metrics: GatewayMetrics,
  ) {}

  send(s: Session, frame: string | Uint8Array): boolean {
    const ws = socketOf(s);
    if (!ws || s.closed) return false;
    // Checked before sending: past the limit uWS itself drops the socket without a close frame
    // (closeOnBackpressureLimit, which keeps topic publishes from skipping a subscriber silently).
    const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength;
    if (ws.getBufferedAmount() + size > this.maxBackpressure) {
      this.metrics.slowConsumerCloses.inc();
      s.protocol.close(s, 'slow-consumer', 'send buffer over limit');
      return false;
    }
    ws.cork(() => ws.send(frame, false));
    return !s.closed;
  }

  sendAndEnd(s: Session, frame: string, code: number, reason: string): void {
    const ws = socketOf(s);
    if (!ws || s.closed) return;
    s.closed = true;
    ws.cork(() => {
      ws.send(frame, false);
      ws.end(code, reason);
    });
  }

  end(s: Session, code: number, reason: string): void {
    const ws = socketOf(s);
    if (!ws || s.closed) return;
    s.closed = true;
    ws.end(code, reason);
  }

  join(s: Session, group: string): void {
    socketOf(s)?.subscribe(group);
  }

  leave(s: Session, group: string): void {
    socketOf(s)?.unsubscribe(group);
  }

  publish(group: string, frame: string | Uint8Array): void {
    this.app.publish(group, frame, false);
  }

  publishExcept(except: Session, group: string, frame: string | Uint8Array): void {
    // uWS' publish from a socket reaches every subscriber but that socket, and only when that socket
    // is itself subscribed (from any other it reaches nobody): otherwise nobody is to be skipped.
    const ws = socketOf(except);
    if (ws && !except.closed && ws.isSubscribed(group)) ws.publish(group, frame, false);
    else this.app.publish(group, frame, false);
  }

  /** Bytes waiting in every socket's send buffer, for the metrics scrape. */
  bufferedBytes(sessions: Iterable<Session>): number {
    let buffered = 0;
    for (const s of sessions) {
      const ws = socketOf(s);
      if (ws && !s.closed) buffered += ws.getBufferedAmount();
    }
    return buffered;
  }
}
