import { CloseCode, type ErrorCode } from '@notify/protocol';
import type { Session } from '../session/session';

/**
 * Writes control frames (replies, errors, read state) to a socket, enforcing the same send-buffer
 * bound as notifications: a client that does not read is closed with 4408, not buffered for.
 */
export class FrameSender {
  constructor(
    private readonly maxBackpressure: number,
    private readonly onSlowConsumer?: () => void,
  ) {}

  /** Returns false when the socket is gone or was closed for being too slow. */
  send(s: Session, frame: string | Uint8Array): boolean {
    const ws = s.ws;
    if (!ws || s.closed) return false;
    // Checked before sending: past the limit uWS itself drops the socket without a close frame
    // (closeOnBackpressureLimit, which keeps topic publishes from skipping a subscriber silently).
    const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength;
    if (ws.getBufferedAmount() + size > this.maxBackpressure) {
      this.onSlowConsumer?.();
      s.closed = true;
      ws.end(CloseCode.SlowConsumer, 'send buffer over limit');
      return false;
    }
    ws.cork(() => ws.send(frame, false));
    return !s.closed;
  }

  error(s: Session, code: ErrorCode, message: string, ref?: string): void {
    this.send(
      s,
      JSON.stringify(
        ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref },
      ),
    );
  }
}
