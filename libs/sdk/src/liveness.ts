import { cancel, later, type Timer } from './host.js';

/**
 * Gives up on a connection that shows no sign of life: no `ready` within `connectTimeoutMs`, or no
 * frame at all between two pings (`pingIntervalMs`, 0 = no pings).
 */
export class Liveness {
  private connectTimer: Timer | null = null;
  private pingTimer: Timer | null = null;
  private awaitingPong = false;

  constructor(
    private readonly connectTimeoutMs: number,
    private readonly pingIntervalMs: number,
    private readonly ping: () => void,
    private readonly giveUp: (reason: string) => void,
  ) {}

  /** A socket was created; `waiting()` is false once it is ready or gone. */
  opening(waiting: () => boolean): void {
    this.connectTimer = later(() => {
      if (waiting()) this.giveUp('no ready frame in time');
    }, this.connectTimeoutMs);
  }

  ready(): void {
    this.connectTimer = cancel(this.connectTimer);
  }

  /** Any frame from the server shows the connection is alive. */
  heard(): void {
    this.awaitingPong = false;
  }

  /** Pings while `current()`, and gives up when nothing came back since the previous ping. */
  watch(current: () => boolean): void {
    if (this.pingIntervalMs <= 0) return;
    this.pingTimer = later(() => {
      if (!current()) return;
      if (this.awaitingPong) return this.giveUp('no answer to ping');
      this.awaitingPong = true;
      this.ping();
      this.watch(current);
    }, this.pingIntervalMs);
  }

  /** The connection ended. */
  end(): void {
    this.awaitingPong = false;
    this.connectTimer = cancel(this.connectTimer);
    this.pingTimer = cancel(this.pingTimer);
  }
}
