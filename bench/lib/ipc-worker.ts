import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** A request without its id (distributes over a union of requests). */
export type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** Every reply names the request it answers and its type; `error` answers any request. */
export type Reply = { id: number; type: string } & ({ type: 'error'; message: string } | object);

/**
 * A client process of the benchmarks (bench/clients/<script>), driven over IPC: each request has an
 * id and is answered by replies of known types (or `error`), and `close` lets it close its sockets
 * before it is killed.
 */
export class IpcWorker<Req extends { id: number; cmd: string }, Rep extends Reply> {
  protected readonly child: ChildProcess;
  private seq = 0;
  private readonly waiters = new Map<string, (m: Rep) => void>();
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    script: string,
  ) {
    this.child = fork(join(__dirname, '..', 'clients', script), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.child.on('message', (m: Rep) => {
      if (m.type === 'error') {
        for (const [k, fn] of this.waiters) if (k.startsWith(`${m.id}:`)) fn(m);
      } else this.waiters.get(`${m.id}:${m.type}`)?.(m);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  protected nextId(): number {
    return ++this.seq;
  }

  protected send(request: Req): void {
    this.child.send(request);
  }

  protected wait<T extends Rep['type']>(
    id: number,
    type: T,
    timeoutMs: number,
  ): Promise<Extract<Rep, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(`${id}:${type}`);
        reject(new Error(`${this.name}: no '${type}' reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(`${id}:${type}`, (m) => {
        clearTimeout(timer);
        this.waiters.delete(`${id}:${type}`);
        if (m.type === 'error') reject(new Error(`${this.name}: ${(m as { message: string }).message}`));
        else resolve(m as Extract<Rep, { type: T }>);
      });
    });
  }

  /** Sends a request and waits for its reply of `type`. */
  protected request<T extends Rep['type']>(
    body: WithoutId<Req>,
    type: T,
    timeoutMs: number,
  ): Promise<Extract<Rep, { type: T }>> {
    const id = this.nextId();
    const reply = this.wait(id, type, timeoutMs);
    this.send({ ...body, id } as Req);
    return reply;
  }

  /** Arms the worker's frame counter; resolves once armed, with a promise of the result. */
  protected async arm<R extends Rep['type']>(
    body: WithoutId<Req>,
    resultType: R,
    timeoutMs: number,
  ): Promise<{ result: Promise<Extract<Rep, { type: R }>> }> {
    const id = this.nextId();
    const armed = this.wait(id, 'armed' as Rep['type'], 10_000);
    const result = this.wait(id, resultType, timeoutMs + 10_000);
    result.catch(() => undefined);
    this.send({ ...body, id } as Req);
    await armed;
    return { result };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      await this.request({ cmd: 'close' } as WithoutId<Req>, 'closed' as Rep['type'], 10_000);
    } catch {
      // fall through to kill
    }
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * The client process's side: runs `handle` for each request, answers a failure with `error`, and
 * exits when the orchestrator goes away.
 */
export function serveRequests<Req extends { id: number }>(handle: (req: Req) => Promise<void>): void {
  process.on('message', (req: Req) => {
    void handle(req).catch((err: unknown) =>
      process.send?.({
        id: req.id,
        type: 'error',
        message: err instanceof Error ? err.message : String(err),
      }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
