import { CloseCode, type ErrorCode } from '@notify/protocol';
import type { Session } from '../session/session';

/**
 * Writes control frames (replies, errors, read state) to a socket, enforcing the same send-buffer
 * bound as notifications: a client that does not read is closed with 4408, not buffered for.
 */
export class FrameSender {
  constructor(private readonly maxBackpressure: number) {}

  send(s: Session, frame: string | Uint8Array): void {
    const ws = s.ws;
    if (!ws || s.closed) return;
    ws.cork(() => ws.send(frame, false));
    if (ws.getBufferedAmount() > this.maxBackpressure) {
      s.closed = true;
      ws.end(CloseCode.SlowConsumer, 'send buffer over limit');
    }
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
