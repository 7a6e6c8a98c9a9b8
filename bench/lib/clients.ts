import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export type WorkerRequest =
  | {
      id: number;
      cmd: 'open';
      port: number;
      paths: string[];
      subscribe?: string;
      /** Parse every frame and check that notification seqs on each socket go up by exactly one. */
      track?: boolean;
      /** On close after ready, reconnect to reconnectPorts[index % length] with `&since=<last seq>`. */
      reconnectPorts?: number[];
      reconnectJitterMs?: number;
      sourceFirst: number;
      sourceSpread: number;
      concurrency: number;
      timeoutMs: number;
    }
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
  | {
      id: number;
      type: 'result';
      reached: boolean;
      frames: number;
      bytes: number;
      firstFrameAt: number;
      lastFrameAt: number;
      minPerSocket: number;
      closedAfterReady: number;
      extra: WorkerStats;
    }
  | { id: number; type: 'status'; open: number; closedAfterReady: number }
  | { id: number; type: 'closed' };

export interface WorkerStats {
  gaps: number;
  duplicates: number;
  reconnected: number;
  reconnectAttemptsFailed: number;
  lastReadyAt: number;
  /** Sockets whose last seq is below the given `expectSeq` (only with track). */
  behind: number;
}

type Result = Extract<WorkerReply, { type: 'result' }>;

/** One client process (≤ 19,000 sockets), driven over IPC. */
export class ClientWorker {
  private child: ChildProcess;
  private seq = 0;
  private waiters = new Map<string, (m: WorkerReply) => void>();
  private exited: Promise<void>;

  constructor(readonly name: string) {
    this.child = fork(join(__dirname, '..', 'clients', 'ws-worker.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('message', (m: WorkerReply) => {
      const key = m.type === 'error' ? `${m.id}:*` : `${m.id}:${m.type}`;
      const w = this.waiters.get(key) ?? this.waiters.get(`${m.id}:*`);
      if (m.type === 'error') {
        for (const [k, fn] of this.waiters) if (k.startsWith(`${m.id}:`)) fn(m);
      } else w?.(m);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private wait<T extends WorkerReply['type']>(
    id: number,
    type: T,
    timeoutMs: number,
  ): Promise<Extract<WorkerReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(`${id}:${type}`);
        reject(new Error(`${this.name}: no '${type}' reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(`${id}:${type}`, (m) => {
        clearTimeout(timer);
        this.waiters.delete(`${id}:${type}`);
        if (m.type === 'error') reject(new Error(`${this.name}: ${m.message}`));
        else resolve(m as Extract<WorkerReply, { type: T }>);
      });
    });
  }

  async open(
    o: Omit<Extract<WorkerRequest, { cmd: 'open' }>, 'id' | 'cmd'>,
  ): Promise<{ ms: number; open: number }> {
    const id = ++this.seq;
    const p = this.wait(id, 'opened', o.timeoutMs + 5000);
    this.child.send({ id, cmd: 'open', ...o } satisfies WorkerRequest);
    return p;
  }

  /** Arms the frame counter; resolves once armed, with a promise of the result. */
  async expect(
    expected: number,
    timeoutMs: number,
    more: { expectSeq?: number; expectReconnected?: number } = {},
  ): Promise<{ result: Promise<Result> }> {
    const id = ++this.seq;
    const armed = this.wait(id, 'armed', 10_000);
    const result = this.wait(id, 'result', timeoutMs + 10_000);
    result.catch(() => undefined);
    this.child.send({ id, cmd: 'expect', expected, timeoutMs, ...more } satisfies WorkerRequest);
    await armed;
    return { result };
  }

  async status(): Promise<{ open: number; closedAfterReady: number }> {
    const id = ++this.seq;
    const p = this.wait(id, 'status', 10_000);
    this.child.send({ id, cmd: 'status' } satisfies WorkerRequest);
    return p;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      const id = ++this.seq;
      const p = this.wait(id, 'closed', 10_000);
      this.child.send({ id, cmd: 'close' } satisfies WorkerRequest);
      await p;
    } catch {
      // fall through to kill
    }
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
