import { IpcWorker } from './ipc-worker';
import type { OpenPlacement, PoolCounts } from './ws-pool';

export type WorkerRequest =
  | (OpenPlacement & {
      id: number;
      cmd: 'open';
      port: number;
      paths: string[];
      subscribe?: string;
      /** Speak Pusher protocol 7 instead of v1: subscribe to this channel after connection_established. */
      pusherSubscribe?: string;
      /** Parse every frame and check that notification seqs on each socket go up by exactly one. */
      track?: boolean;
      /** Ack every notification (`{"type":"ack","seq":N}`) as it arrives, as a client of the SDK would. */
      ack?: boolean;
      /**
       * Record, for every notification, now − `data.t` (epoch ms at the producer's send), and report
       * the percentiles with the result.
       */
      latency?: boolean;
      /** On close after ready, reconnect to reconnectPorts[index % length] with `&since=<last seq>`. */
      reconnectPorts?: number[];
      reconnectJitterMs?: number;
    })
  | {
      id: number;
      cmd: 'expect';
      expected: number;
      timeoutMs: number;
      expectSeq?: number;
      expectReconnected?: number;
    }
  | { id: number; cmd: 'status' }
  | { id: number; cmd: 'close' };

export type WorkerReply =
  | { id: number; type: 'error'; message: string }
  | { id: number; type: 'opened'; ms: number; open: number }
  | { id: number; type: 'armed' }
  | ({
      id: number;
      type: 'result';
      reached: boolean;
      extra: WorkerStats;
      latency?: LatencySummary;
    } & PoolCounts)
  | { id: number; type: 'status'; open: number; closedAfterReady: number }
  | { id: number; type: 'closed' };

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface WorkerStats {
  gaps: number;
  duplicates: number;
  reconnected: number;
  reconnectAttemptsFailed: number;
  lastReadyAt: number;
  /** Sockets whose last seq is below the given `expectSeq` (only with track). */
  behind: number;
}

export type WorkerResult = Extract<WorkerReply, { type: 'result' }>;

/** One client process (≤ 19,000 sockets), driven over IPC. */
export class ClientWorker extends IpcWorker<WorkerRequest, WorkerReply> {
  constructor(name: string) {
    super(name, 'ws-worker.js');
  }

  open(
    o: Omit<Extract<WorkerRequest, { cmd: 'open' }>, 'id' | 'cmd'>,
  ): Promise<{ ms: number; open: number }> {
    return this.request({ cmd: 'open', ...o }, 'opened', o.timeoutMs + 5000);
  }

  /** Arms the frame counter; resolves once armed, with a promise of the result. */
  expect(
    expected: number,
    timeoutMs: number,
    more: { expectSeq?: number; expectReconnected?: number } = {},
  ): Promise<{ result: Promise<WorkerResult> }> {
    return this.arm({ cmd: 'expect', expected, timeoutMs, ...more }, 'result', timeoutMs);
  }

  status(): Promise<{ open: number; closedAfterReady: number }> {
    return this.request({ cmd: 'status' }, 'status', 10_000);
  }
}
