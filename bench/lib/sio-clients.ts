import type { LatencySummary } from './clients';
import { IpcWorker } from './ipc-worker';
import type { OpenPlacement, PoolCounts } from './ws-pool';

/** Engine.IO v4 over WebSocket only: no polling round trips before the upgrade. */
export const SIO_PATH = '/socket.io/?EIO=4&transport=websocket';

export type SioRequest =
  | (OpenPlacement & {
      id: number;
      cmd: 'open';
      port: number;
      /** One JWT per socket, sent in the CONNECT packet: `40{"token":…}`. */
      tokens: string[];
      /** Answer every `notification` event with an `ack` event carrying its id. */
      ack: boolean;
      /** Record, for every notification, now − its `data.t` (the producer's send time). */
      latency?: boolean;
    })
  | {
      id: number;
      cmd: 'subscribe';
      channel: string;
      /** Whether sockets keep answering notifications with acks afterwards (else frames are only counted). */
      ack: boolean;
      timeoutMs: number;
    }
  | { id: number; cmd: 'expect'; expected: number; timeoutMs: number }
  | { id: number; cmd: 'status' }
  | { id: number; cmd: 'close' };

export type SioReply =
  | { id: number; type: 'error'; message: string }
  | { id: number; type: 'opened'; ms: number; open: number }
  | { id: number; type: 'subscribed'; ms: number; subscribed: number; refused: number }
  | { id: number; type: 'armed' }
  | ({
      id: number;
      type: 'result';
      reached: boolean;
      acksSent: number;
      pongs: number;
      latency?: LatencySummary;
    } & PoolCounts)
  | { id: number; type: 'status'; open: number; closedAfterReady: number; pongs: number }
  | { id: number; type: 'closed' };

export type SioResult = Extract<SioReply, { type: 'result' }>;

/** One Socket.IO client process (≤ 19,000 sockets), driven over IPC; mirrors ClientWorker. */
export class SioClientWorker extends IpcWorker<SioRequest, SioReply> {
  constructor(name: string) {
    super(name, 'sio-worker.js');
  }

  open(o: Omit<Extract<SioRequest, { cmd: 'open' }>, 'id' | 'cmd'>): Promise<{ ms: number; open: number }> {
    return this.request({ cmd: 'open', ...o }, 'opened', o.timeoutMs + 5000);
  }

  subscribe(
    channel: string,
    ack: boolean,
    timeoutMs: number,
  ): Promise<{ ms: number; subscribed: number; refused: number }> {
    return this.request({ cmd: 'subscribe', channel, ack, timeoutMs }, 'subscribed', timeoutMs + 5000);
  }

  /** Arms the frame counter; resolves once armed, with a promise of the result. */
  expect(expected: number, timeoutMs: number): Promise<{ result: Promise<SioResult> }> {
    return this.arm({ cmd: 'expect', expected, timeoutMs }, 'result', timeoutMs);
  }

  status(): Promise<{ open: number; closedAfterReady: number; pongs: number }> {
    return this.request({ cmd: 'status' }, 'status', 10_000);
  }
}
