import type { Session } from '../session/session';
import type { CursorWriter } from '../delivery/cursor-writer';
import type { GatewayMetrics } from '../http/metrics';
import type { FrameSender } from './frame-sender';
import type { InboxFrames } from './inbox-frames';
import type { ChannelFrames } from '../channels/channel-frames';

/**
 * Routes one client frame. Bad input gets an `error` frame and the connection stays; nothing here
 * may throw into uWS.
 */
export class ClientFrames {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly cursors: CursorWriter,
    private readonly inbox: InboxFrames,
    private readonly channels: ChannelFrames,
    private readonly sender: FrameSender,
    private readonly metrics: GatewayMetrics,
  ) {}

  handle(s: Session, message: ArrayBuffer): void {
    let frame: unknown;
    try {
      frame = JSON.parse(this.decoder.decode(message));
    } catch {
      return this.sender.error(s, 'bad_request', 'frame is not valid UTF-8 JSON');
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      return this.sender.error(s, 'bad_request', 'frame must be a JSON object');
    }
    const f = frame as Record<string, unknown>;
    const ref = typeof f.ref === 'string' && f.ref.length <= 64 ? f.ref : undefined;
    switch (f.type) {
      case 'ping':
        this.sender.send(s, JSON.stringify(ref === undefined ? { type: 'pong' } : { type: 'pong', ref }));
        return;
      case 'ack':
        return this.ack(s, f.seq, ref);
      case 'read':
        return void this.inbox.read(s, f, ref);
      case 'history':
        return void this.inbox.history(s, f, ref);
      case 'subscribe':
        return void this.channels.subscribe(s, f, ref);
      case 'unsubscribe':
        return this.channels.unsubscribe(s, f, ref);
      default:
        return this.sender.error(
          s,
          'bad_request',
          `unknown frame type ${JSON.stringify(f.type ?? null)}`,
          ref,
        );
    }
  }

  private ack(s: Session, seq: unknown, ref: string | undefined): void {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      return this.sender.error(s, 'bad_request', 'ack needs seq: a non-negative integer', ref);
    }
    if (seq > s.position) {
      return this.sender.error(
        s,
        'bad_request',
        `cannot ack seq ${seq}: only ${s.position} was delivered`,
        ref,
      );
    }
    if (seq <= s.ackedSeq) return;
    s.ackedSeq = seq;
    this.metrics.acks.inc();
    this.cursors.record(s.userId, s.deviceId, seq);
  }
}
